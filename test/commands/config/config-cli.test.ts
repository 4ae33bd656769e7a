import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import JSON5 from 'json5'
import {REPO_ROOT, runCli, tempDir} from '../../helpers/cli.js'

/** The built CLI (bin/run.js) as a child process with a temp REMOTECLAW_STATE_DIR. */
describe('config commands (built CLI, child processes)', () => {
  let t: ReturnType<typeof tempDir>
  let stateDir: string
  let file: string
  beforeEach(() => {
    t = tempDir()
    stateDir = path.join(t.dir, 'state')
    file = path.join(stateDir, 'remoteclaw.json')
  })
  afterEach(() => t.cleanup())
  const mode = (p: string) => fs.statSync(p).mode & 0o777

  it('two config set processes racing on different keys both land (comments kept)', async () => {
    fs.mkdirSync(stateDir, {mode: 0o700})
    fs.writeFileSync(file, '// shared\n{\n  channels: {\n    imessage: {\n      enabled: true, // on\n    },\n  },\n}\n')
    const [a, b] = await Promise.all([
      runCli(['config', 'set', 'channels.imessage.region', 'GB'], {stateDir}),
      runCli(['config', 'set', 'messages.responsePrefix', '[bot]'], {stateDir}),
    ])
    expect(a.exitCode, a.stderr).to.equal(0)
    expect(b.exitCode, b.stderr).to.equal(0)
    const text = fs.readFileSync(file, 'utf8')
    const data = JSON5.parse(text)
    expect(data.channels.imessage.region).to.equal('GB')
    expect(data.messages.responsePrefix).to.equal('[bot]')
    expect(text).to.match(/^\/\/ shared\n/)
    expect(text).to.contain('enabled: true, // on')
  })

  it('many concurrent config set processes on different keys: none is lost', async () => {
    const keys = ['region', 'responsePrefix', 'remoteHost', 'name', 'dbPath', 'cliPath']
    const results = await Promise.all(keys.map((k, i) => runCli(['config', 'set', `channels.imessage.${k}`, k === 'region' ? 'GB' : `/v${i}`], {stateDir})))
    for (const r of results) expect(r.exitCode, r.stderr).to.equal(0)
    const im = JSON5.parse(fs.readFileSync(file, 'utf8')).channels.imessage
    expect(Object.keys(im).sort()).to.deep.equal([...keys].sort())
    expect(fs.existsSync(`${file}.lock`)).to.equal(false)
  })

  it('0644 file becomes 0600, backup 0600, state dir 0700', async () => {
    fs.mkdirSync(stateDir, {mode: 0o755})
    fs.chmodSync(stateDir, 0o755)
    fs.writeFileSync(file, '{}\n', {mode: 0o644})
    fs.chmodSync(file, 0o644)
    const r = await runCli(['config', 'set', 'commands.config', 'true'], {stateDir})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(mode(file)).to.equal(0o600)
    expect(mode(`${file}.bak`)).to.equal(0o600)
    expect(fs.readFileSync(`${file}.bak`, 'utf8')).to.equal('{}\n')
    expect(mode(stateDir)).to.equal(0o700)
  })

  it('exit codes are the same with --json: 2 invalid value, 4 missing path, 7 invalid file', async () => {
    const bad = await runCli(['config', 'set', 'channels.imessage.mediaMaxMb', 'huge', '--json'], {stateDir})
    expect(bad.exitCode).to.equal(2)
    const doc = JSON.parse(bad.stdout)
    expect(doc.error.code).to.equal('config_change_invalid')
    expect(doc.error.message).to.contain('channels.imessage.mediaMaxMb')
    expect(fs.existsSync(file)).to.equal(false)

    const missing = await runCli(['config', 'get', 'channels.imessage.cliPath', '--json'], {stateDir})
    expect(missing.exitCode).to.equal(4)

    fs.mkdirSync(stateDir, {recursive: true})
    fs.writeFileSync(file, '{\n  channels: {\n    imessage: {enabled: true\n  },\n}\n')
    const before = fs.readFileSync(file)
    for (const args of [['config', 'set', 'channels.imessage.enabled', 'false'], ['config', 'get'], ['config', 'validate']]) {
      const plain = await runCli(args, {stateDir})
      expect(plain.exitCode, args.join(' ')).to.equal(7)
      expect(plain.stderr).to.match(new RegExp(`${file.replaceAll('.', '\\.')}:\\d+:\\d+`))
      expect(plain.stderr).not.to.match(/at .*\.js:\d+/)
      const json = await runCli([...args, '--json'], {stateDir})
      expect(json.exitCode, `${args.join(' ')} --json`).to.equal(7)
      expect(JSON.parse(json.stdout).error.code).to.equal('config_invalid')
    }
    expect(fs.readFileSync(file).equals(before)).to.equal(true)
  })

  it('--dry-run prints a diff and writes nothing', async () => {
    const r = await runCli(['config', 'set', 'channels.imessage.groups["42"].requireMention', 'false', '--dry-run'], {stateDir})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout).to.contain('+        "42": {').and.contain('+          requireMention: false,')
    expect(r.stderr).to.contain('Dry run: nothing was written.')
    expect(fs.existsSync(file)).to.equal(false)
  })

  it('validates the shipped example config (linked from docs/configuration.md)', async () => {
    expect(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8')).to.contain('(../examples/remoteclaw.json5)')
    const r = await runCli(['config', 'validate'], {stateDir, env: {REMOTECLAW_CONFIG_PATH: path.join(REPO_ROOT, 'examples', 'remoteclaw.json5')}})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout).to.contain('is valid')
  })

  it('help for every config command has examples and the exit codes', async () => {
    for (const cmd of ['get', 'set', 'unset', 'validate', 'migrate']) {
      const h = await runCli(['config', cmd, '--help'], {stateDir})
      expect(h.stdout, cmd).to.contain('EXAMPLES')
      expect(h.stdout, cmd).to.contain('EXIT CODES')
    }
  })
})
