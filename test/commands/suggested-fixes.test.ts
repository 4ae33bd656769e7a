import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import JSON5 from 'json5'
import {runCli, tempDir} from '../helpers/cli.js'

/**
 * Every error that suggests a command: set up the state that produces it, read the command(s)
 * from the --json error document's `fix`, run them (argv parsed here, no shell) on that same
 * state with the built CLI, and expect exit 0. A fix that does not work is a product bug.
 *
 * Placeholders substituted (only these): `<value>`, with the value named in the case.
 *
 * Excluded (the fix is not a command that can run here):
 * - JSON5 syntax error, duplicate key, a key the lossless editor cannot keep: the fix is a hand edit.
 * - lossless_edit_failed: "report this as a bug".
 * - bad path syntax (bad_path): the fix explains the path syntax.
 * - `config set <key with no close match>`: the fix lists the keys allowed there.
 * - no account configured -> `remoteclaw setup imessage`: an interactive wizard (needs a TTY).
 * - setup without a TTY (missing_answers): the example names a Mac's imsg path or SSH host.
 * - channels doctor / gateway service errors: Full Disk Access, launchd/systemd, a real Mac.
 */

/** The `remoteclaw ...` commands in a fix, as argv without "remoteclaw". */
export function commandsIn(fix: string): string[][] {
  const out: string[][] = []
  const re = /(?:^|[\s(`:])remoteclaw (?=[a-z])/g
  for (let m = re.exec(fix); m; m = re.exec(fix)) {
    let i = m.index + m[0].length
    const argv: string[] = []
    // Words up to ; ` ) two spaces or the end; quotes as in a POSIX shell (no escapes used in fixes).
    for (;;) {
      if (fix.startsWith('  ', i) || i >= fix.length || ';`)'.includes(fix[i]!)) break
      if (fix[i] === ' ') {
        i++
        continue
      }
      let word = ''
      let quoted = false
      while (i < fix.length && !/[\s;`)]/.test(fix[i]!)) {
        const q = fix[i]!
        if (q === "'" || q === '"') {
          const end = fix.indexOf(q, i + 1)
          word += fix.slice(i + 1, end)
          i = end + 1
          quoted = true
        } else word += fix[i++]
      }
      // A sentence's full stop or comma after the last word is not part of it.
      if (!quoted && /[.,]$/.test(word)) {
        argv.push(word.slice(0, -1))
        break
      }
      argv.push(word)
    }
    out.push(argv)
  }
  return out
}

interface Case {
  name: string
  /** Config file text ('' for no file). */
  file: string
  argv: string[]
  exitCode: number
  code: string
  /** Placeholder -> value to run the fix with. */
  values?: Record<string, string>
  /** Checks after the fix ran. */
  then?: (file: string) => void
}

const BASE = '{\n  channels: {imessage: {cliPath: "imsg", allowFrom: ["+15551234567"]}},\n}\n'
const WITH_POLICY = '{\n  channels: {imessage: {cliPath: "imsg", allowFrom: ["+15551234567"], dmPolicy: "allowlist"}},\n}\n'
const HAND_TYPO = '{channels: {imessage: {cliPath: "imsg", dmPolcy: "open"}}}\n'
const read = (file: string) => JSON5.parse(fs.readFileSync(file, 'utf8')) as {channels: {imessage: Record<string, unknown>}}

const cases: Case[] = [
  {
    name: 'config set of a mistyped key: set the key it meant',
    file: BASE,
    argv: ['config', 'set', 'channels.imessage.dmPolcy', 'allowlist'],
    exitCode: 2,
    code: 'config_unknown_key',
    then: (f) => expect(read(f).channels.imessage.dmPolicy).to.equal('allowlist'),
  },
  {
    name: 'config set of a bare mistyped key: the full path it meant',
    file: BASE,
    argv: ['config', 'set', 'dmPolcy', 'allowlist'],
    exitCode: 2,
    code: 'config_unknown_key',
    then: (f) => expect(read(f).channels.imessage.dmPolicy).to.equal('allowlist'),
  },
  {
    name: 'config set of a mistyped key whose value the meant key refuses: what stands in the way',
    file: BASE,
    argv: ['config', 'set', 'channels.imessage.dmPolcy', 'open'],
    exitCode: 2,
    code: 'config_unknown_key',
    then: (f) => expect(read(f).channels.imessage.allowFrom).to.deep.equal(['*']),
  },
  {
    name: 'config set below a value: set the value',
    file: BASE,
    argv: ['config', 'set', 'channels.imessage.dmPolicy.x', '1'],
    exitCode: 2,
    code: 'config_unknown_key',
    values: {'<value>': 'allowlist'},
  },
  {
    name: 'config get of a mistyped key that is not set: its effective value',
    file: BASE,
    argv: ['config', 'get', 'dmPolcy'],
    exitCode: 2,
    code: 'config_unknown_key',
    values: {'<value>': 'pairing'},
  },
  {
    name: 'config get of a mistyped key that is set: get it',
    file: WITH_POLICY,
    argv: ['config', 'get', 'channels.imessage.dmPolcy'],
    exitCode: 2,
    code: 'config_unknown_key',
  },
  {name: 'config get of an unknown key: see what is set', file: BASE, argv: ['config', 'get', 'nope'], exitCode: 2, code: 'config_unknown_key'},
  {
    name: 'config get of a known account key that is not set: --resolved, or set it',
    file: BASE,
    argv: ['config', 'get', 'channels.imessage.dmPolicy'],
    exitCode: 4,
    code: 'config_path_not_found',
    values: {'<value>': 'pairing'},
  },
  {
    name: 'config get of a known key in an empty config: the whole file, or set it',
    file: '',
    argv: ['config', 'get', 'channels.imessage.region'],
    exitCode: 4,
    code: 'config_path_not_found',
    values: {'<value>': 'GB'},
  },
  {
    name: 'config unset of a mistyped key whose meant key is set: unset that',
    file: WITH_POLICY,
    argv: ['config', 'unset', 'dmPolcy'],
    exitCode: 4,
    code: 'config_unknown_key',
    then: (f) => expect(read(f).channels.imessage).not.to.have.property('dmPolicy'),
  },
  {
    name: 'config unset of a known key that is not set: see what is set',
    file: BASE,
    argv: ['config', 'unset', 'channels.imessage.dmPolicy'],
    exitCode: 4,
    code: 'config_path_not_found',
  },
  {
    name: 'config validate of a file with a hand-written unknown key: unset it, then validate passes',
    file: HAND_TYPO,
    argv: ['config', 'validate'],
    exitCode: 7,
    code: 'config_invalid',
    then: (f) => expect(read(f).channels.imessage).to.deep.equal({cliPath: 'imsg'}),
  },
  {
    name: 'config get on a file with a hand-written unknown key: unset it',
    file: HAND_TYPO,
    argv: ['config', 'get', 'channels.imessage.cliPath'],
    exitCode: 7,
    code: 'config_invalid',
  },
  {
    name: 'config set on a file with a hand-written unknown key: unset it',
    file: HAND_TYPO,
    argv: ['config', 'set', 'channels.imessage.region', 'GB'],
    exitCode: 7,
    code: 'config_invalid',
  },
  {
    name: 'config set of an invalid enum value: a value the rest of the file accepts',
    file: BASE,
    argv: ['config', 'set', 'channels.imessage.dmPolicy', 'opn'],
    exitCode: 2,
    code: 'config_change_invalid',
  },
  {
    name: 'config set of a list key to a bare value: the list forms',
    file: BASE,
    argv: ['config', 'set', 'channels.imessage.allowFrom', '+15550001111'],
    exitCode: 2,
    code: 'config_change_invalid',
  },
  {
    name: 'config get --resolved for an unknown account: a known one',
    file: BASE,
    argv: ['config', 'get', 'dmPolicy', '--resolved', '--account', 'bot'],
    exitCode: 4,
    code: 'not_found',
  },
  {name: 'pairing approve of an unknown code: list the codes', file: BASE, argv: ['pairing', 'approve', 'imessage', 'ABCDEFGH'], exitCode: 4, code: 'pairing_code_not_found'},
  {name: 'a mistyped command: the command it meant and its help', file: BASE, argv: ['confg', 'get'], exitCode: 2, code: 'command_not_found'},
  {name: 'missing arguments: the command help', file: BASE, argv: ['config', 'set'], exitCode: 2, code: 'usage'},
  {name: 'schedule cancel of an unknown id: list the schedules', file: BASE, argv: ['schedule', 'cancel', 'nope'], exitCode: 4, code: 'schedule_not_found'},
  {name: 'sessions reset without a key: list the sessions', file: BASE, argv: ['sessions', 'reset'], exitCode: 2, code: 'usage'},
]

describe('suggested fixes run (built CLI, child processes)', () => {
  let t: ReturnType<typeof tempDir>
  let stateDir: string
  let file: string
  beforeEach(() => {
    t = tempDir()
    stateDir = path.join(t.dir, 'state')
    file = path.join(stateDir, 'remoteclaw.json')
    fs.mkdirSync(stateDir, {mode: 0o700})
  })
  afterEach(() => t.cleanup())

  it('reads commands out of fix texts', () => {
    expect(commandsIn(`Lists: remoteclaw config set a '["x", "y"]'   (or: remoteclaw config set 'a[0]' x)   (f is unchanged)`)).to.deep.equal([
      ['config', 'set', 'a', '["x", "y"]'],
      ['config', 'set', 'a[0]', 'x'],
    ])
    expect(commandsIn('See what is set: remoteclaw config get. Keys allowed: a, b')).to.deep.equal([['config', 'get']])
    expect(commandsIn('Did you mean `remoteclaw config get`? Run `remoteclaw config get --help` for its usage.')).to.deep.equal([
      ['config', 'get'],
      ['config', 'get', '--help'],
    ])
  })

  for (const c of cases) {
    it(c.name, async () => {
      if (c.file !== '') fs.writeFileSync(file, c.file, {mode: 0o600})
      const r = await runCli([...c.argv, '--json'], {stateDir})
      expect(r.exitCode, r.stdout + r.stderr).to.equal(c.exitCode)
      const {error} = JSON.parse(r.stdout) as {error: {code: string; fix?: string; exitCode: number}}
      expect(error.code).to.equal(c.code)
      expect(error.exitCode).to.equal(c.exitCode)
      const commands = commandsIn(error.fix ?? '')
      expect(commands, `no command in the fix: ${error.fix}`).not.to.be.empty
      for (const argv of commands) {
        const run = argv.map((a) => c.values?.[a] ?? a)
        expect(
          run.filter((a) => /<[^>]+>/.test(a)),
          `unsubstituted placeholder in: ${error.fix}`,
        ).to.be.empty
        const f = await runCli(run, {stateDir})
        expect(f.exitCode, `remoteclaw ${run.join(' ')} (from fix: ${error.fix})\n${f.stderr}`).to.equal(0)
      }
      c.then?.(file)
    })
  }
})
