#!/usr/bin/env -S node --import tsx
const argv = process.argv.slice(2)
if ((process.env.NO_COLOR ?? '') !== '' || process.env.TERM === 'dumb' || argv.includes('--no-color') || argv.includes('--json')) {
  process.env.FORCE_COLOR = '0'
}
const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
