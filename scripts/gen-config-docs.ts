// Regenerates the configuration reference in docs/configuration.md from the zod schema:
//   npx tsx scripts/gen-config-docs.ts          (writes docs/configuration.md)
//   npx tsx scripts/gen-config-docs.ts --check  (exit 1 when docs/configuration.md is stale)
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {CONFIG_REFERENCE_DOC, renderConfigReference, replaceSection} from '../src/lib/config/docs.js'

const docPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', CONFIG_REFERENCE_DOC)
const current = fs.readFileSync(docPath, 'utf8')
const next = replaceSection(current, 'config-reference', renderConfigReference())
if (process.argv.includes('--check')) {
  if (next !== current) {
    process.stderr.write(`${CONFIG_REFERENCE_DOC} config reference is stale; run: npx tsx scripts/gen-config-docs.ts\n`)
    process.exit(1)
  }
  process.stdout.write(`${CONFIG_REFERENCE_DOC} config reference is up to date\n`)
} else if (next === current) {
  process.stdout.write(`${CONFIG_REFERENCE_DOC} config reference already up to date\n`)
} else {
  fs.writeFileSync(docPath, next)
  process.stdout.write(`${CONFIG_REFERENCE_DOC} config reference regenerated\n`)
}
