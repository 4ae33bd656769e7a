#!/usr/bin/env node
// chalk 5 ignores NO_COLOR, so decide colour before chalk or @oclif/core is first imported.
const argv = process.argv.slice(2)
if ((process.env.NO_COLOR ?? '') !== '' || process.env.TERM === 'dumb' || argv.includes('--no-color') || argv.includes('--json')) {
  process.env.FORCE_COLOR = '0'
}
// dist/remoteclaw.cjs is oclif with every command in one bundle (scripts/bundle.mjs), compiled
// with V8's code cache by dist/loader.cjs (src/cli/code-cache.ts).
// The bundle's import() calls come here: code compiled with a code cache cannot make them.
globalThis.__rcDynamicImport = (specifier) => import(specifier)
const {createRequire} = await import('node:module')
const require = createRequire(import.meta.url)
const {loadBundle} = require('../dist/loader.cjs')
const command = argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ')
const {exports} = loadBundle(require.resolve('../dist/remoteclaw.cjs'), command)
await exports.execute({dir: import.meta.url})
