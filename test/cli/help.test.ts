import {Config, Parser} from '@oclif/core'
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {REPO_ROOT, runCli, tempDir} from '../helpers/cli.js'

interface Example {
  description: string
  command: string
}
const oclif = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).oclif as {
  examples: Example[]
  topics: Record<string, {description: string; examples?: Example[]}>
}
const topics = Object.keys(oclif.topics)

/** Splits a command line as sh does for the quoting used in examples ('...' and "..."). */
function shellWords(line: string): string[] {
  const words: string[] = []
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g
  let m: RegExpExecArray | null
  while ((m = re.exec(line))) words.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!)
  return words
}

describe('help: examples for the root and every topic', function () {
  this.timeout(60_000)
  let t: ReturnType<typeof tempDir>
  before(() => {
    t = tempDir()
  })
  after(() => t.cleanup())

  it('every topic has examples, and the root has the quick start', () => {
    expect(oclif.examples.length).to.be.greaterThan(2)
    for (const name of topics) expect(oclif.topics[name]!.examples ?? [], name).to.have.length.greaterThan(1)
  })

  it('`remoteclaw <topic> --help` and `remoteclaw --help` print them (built CLI)', async () => {
    for (const name of [undefined, ...topics]) {
      const r = await runCli(name ? [name, '--help'] : ['--help'], {stateDir: t.dir})
      expect(r.exitCode, `${name} ${r.stderr}`).to.equal(0)
      const section = r.stdout.slice(r.stdout.indexOf('EXAMPLES'))
      expect(r.stdout, name).to.contain('EXAMPLES')
      for (const e of name ? oclif.topics[name]!.examples! : oclif.examples) {
        expect(section, name).to.contain(e.description)
        // one line, ready to paste
        expect(section, name).to.contain(`$ ${e.command.replace('<%= config.bin %>', 'remoteclaw')}\n`)
      }
    }
    // `gateway` is a command and a topic: one EXAMPLES section, the command's own first.
    const g = await runCli(['gateway', '--help'], {stateDir: t.dir})
    expect(g.stdout.match(/^EXAMPLES$/gm)).to.have.length(1)
    expect(g.stdout.indexOf('$ remoteclaw gateway --account bot')).to.be.lessThan(g.stdout.indexOf('$ remoteclaw gateway install'))
  })

  it('every example names a real command and parses: its flags exist and its arguments are valid', async () => {
    const config = await Config.load(REPO_ROOT)
    const all = [...oclif.examples, ...topics.flatMap((n) => oclif.topics[n]!.examples!)]
    for (const e of all) {
      const words = shellWords(e.command.replace('<%= config.bin %>', ''))
      // the longest command id the words start with (topics are separated by spaces)
      let id: string | undefined
      for (let n = words.length; n > 0 && !id; n--) if (config.findCommand(words.slice(0, n).join(':'))) id = words.slice(0, n).join(':')
      expect(id, e.command).to.be.a('string')
      const C = await config.findCommand(id!)!.load()
      const argv = words.slice(id!.split(':').length)
      await Parser.parse(argv, {flags: {...C.baseFlags, ...C.flags}, args: C.args, strict: C.strict}).catch((error: Error) => {
        throw new Error(`${e.command}: ${error.message}`)
      })
    }
  })

  it('the help class imports nothing beyond @oclif/core (it is loaded on every --help)', () => {
    const src = fs.readFileSync(path.join(REPO_ROOT, 'src', 'cli', 'help.ts'), 'utf8')
    const from = [...src.matchAll(/^import .* from '([^']+)'/gm)].map((m) => m[1])
    expect(from).to.not.be.empty
    for (const f of from) expect(f).to.match(/^@oclif\/core(\/[a-z]+)?$/)
  })
})
