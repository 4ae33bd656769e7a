// Regenerates the README's configuration reference from the zod schema:
//   npx tsx scripts/gen-config-docs.ts          (writes README.md)
//   npx tsx scripts/gen-config-docs.ts --check  (exit 1 when README.md is stale)
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {renderConfigReference, replaceSection} from '../src/lib/config/docs.js'

const readmePath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md')
const current = fs.readFileSync(readmePath, 'utf8')
const next = replaceSection(current, 'config-reference', renderConfigReference())
if (process.argv.includes('--check')) {
  if (next !== current) {
    process.stderr.write('README.md config reference is stale; run: npx tsx scripts/gen-config-docs.ts\n')
    process.exit(1)
  }
  process.stdout.write('README.md config reference is up to date\n')
} else if (next === current) {
  process.stdout.write('README.md config reference already up to date\n')
} else {
  fs.writeFileSync(readmePath, next)
  process.stdout.write('README.md config reference regenerated\n')
}
