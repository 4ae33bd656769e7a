#!/usr/bin/env node
// chalk 5 ignores NO_COLOR, so decide colour before chalk or @oclif/core is first imported.
const argv = process.argv.slice(2)
if ((process.env.NO_COLOR ?? '') !== '' || process.env.TERM === 'dumb' || argv.includes('--no-color') || argv.includes('--json')) {
  process.env.FORCE_COLOR = '0'
}
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
