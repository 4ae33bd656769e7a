// `oclif manifest` lists commands in the order the file system returned them, which differs
// between machines; sorting the keys makes the committed manifest identical after every build.
import fs from 'node:fs'

const file = new URL('../oclif.manifest.json', import.meta.url)
const m = JSON.parse(fs.readFileSync(file, 'utf8'))
const commands = {}
for (const id of Object.keys(m.commands).sort()) commands[id] = m.commands[id]
m.commands = commands
fs.writeFileSync(file, JSON.stringify(m, null, 2) + '\n')
