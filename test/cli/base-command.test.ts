import {expect} from 'chai'
import {runCli, tempDir} from '../helpers/cli.js'

describe('base command (built CLI as a child process)', () => {
  let t: ReturnType<typeof tempDir>
  beforeEach(() => {
    t = tempDir()
  })
  afterEach(() => t.cleanup())

  it('keeps the usage exit code 2 for an unknown flag, with and without --json', async () => {
    const plain = await runCli(['config', 'path', '--bogus'], {stateDir: t.dir})
    expect(plain.exitCode).to.equal(2)
    expect(plain.stderr).to.match(/Nonexistent flag: --bogus/)
    expect(plain.stderr).not.to.match(/at .*\.js:\d+/)
    const json = await runCli(['config', 'path', '--bogus', '--json'], {stateDir: t.dir})
    expect(json.exitCode).to.equal(2)
    const doc = JSON.parse(json.stdout)
    expect(doc.error.exitCode).to.equal(2)
    expect(doc.error.code).to.equal('usage')
  })

  it('colours errors only when allowed: NO_COLOR, --no-color, TERM=dumb and --json turn colour off', async () => {
    const ansi = /\u001b\[/
    const forced = {FORCE_COLOR: '1', NO_COLOR: undefined, TERM: 'xterm-256color'}
    const coloured = await runCli(['config', 'get', 'channels.imessage.groupPolicy'], {stateDir: t.dir, env: forced})
    expect(coloured.exitCode).to.equal(4)
    expect(coloured.stderr).to.match(ansi)
    for (const [env, extra] of [
      [{...forced, NO_COLOR: '1'}, []],
      [forced, ['--no-color']],
      [{...forced, TERM: 'dumb'}, []],
      [forced, ['--json']],
    ] as const) {
      const r = await runCli(['config', 'get', 'channels.imessage.groupPolicy', ...extra], {stateDir: t.dir, env})
      expect(r.exitCode).to.equal(4)
      expect(r.stderr + r.stdout).not.to.match(ansi)
    }
  })

  it('every command that needs an account says the same thing without one: exit 4 (gateway: 7) and the setup fix', async () => {
    for (const args of [
      ['pairing', 'list'],
      ['message', 'send', '--target', '+15551234567', '--text', 'hi'],
      ['channels', 'doctor'],
      ['pairing', 'approve', 'imessage', 'ABCDEFGH'],
    ]) {
      const r = await runCli(args, {stateDir: t.dir})
      expect(r.exitCode, args.join(' ')).to.equal(4)
      expect(r.stderr, args.join(' ')).to.contain('no iMessage account is configured')
      expect(r.stderr, args.join(' ')).to.contain('remoteclaw setup imessage')
      const j = await runCli([...args, '--json'], {stateDir: t.dir})
      expect(JSON.parse(j.stdout).error.code, args.join(' ')).to.equal('not_configured')
      expect(j.exitCode).to.equal(4)
    }
    const g = await runCli(['gateway'], {stateDir: t.dir})
    expect(g.exitCode).to.equal(7)
    expect(g.stderr).to.contain('remoteclaw setup imessage')
  })

  it('prints the version and help with examples', async () => {
    const v = await runCli(['--version'], {stateDir: t.dir})
    expect(v.exitCode).to.equal(0)
    expect(v.stdout).to.match(/remoteclaw\/\d+\.\d+\.\d+/)
    const h = await runCli(['config', 'path', '--help'], {stateDir: t.dir})
    expect(h.stdout).to.match(/EXAMPLES/)
  })

  it('resolves the config path from REMOTECLAW_STATE_DIR and REMOTECLAW_CONFIG_PATH', async () => {
    const a = await runCli(['config', 'path', '--json'], {stateDir: t.dir})
    expect(JSON.parse(a.stdout).path).to.equal(`${t.dir}/remoteclaw.json`)
    const b = await runCli(['config', 'path', '--json'], {stateDir: t.dir, env: {REMOTECLAW_CONFIG_PATH: `${t.dir}/x.json5`}})
    expect(JSON.parse(b.stdout).path).to.equal(`${t.dir}/x.json5`)
  })
})
