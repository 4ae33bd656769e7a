import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import JSON5 from 'json5'
import {IMSG_SIM, RUN_JS, runCli, tempDir} from '../../helpers/cli.js'

const DRIVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pty-driver.py')

interface PtyResult {
  exit: number | null
  output: string
  waitingFor?: string
}

/** Runs the built CLI in a real pseudo-terminal (python3's pty module) and answers prompts. */
async function runInPty(args: string[], home: string, steps: [string, string][]): Promise<PtyResult> {
  const spec = {
    cmd: [process.execPath, RUN_JS, ...args],
    env: {HOME: home, REMOTECLAW_STATE_DIR: home, NO_COLOR: '1', TERM: 'xterm', PATH: '/usr/bin:/bin', CI: ''},
    steps,
    timeout: 60,
  }
  const r = await execa('python3', [DRIVER, JSON.stringify(spec)], {reject: false, timeout: 90_000})
  if (r.exitCode !== 0) throw new Error(`pty driver failed: ${String(r.stderr)}`)
  return JSON.parse(String(r.stdout)) as PtyResult
}

describe('remoteclaw setup imessage (built CLI)', function () {
  this.timeout(120_000)
  let tmp: ReturnType<typeof tempDir>
  let db: string

  before(async () => {
    tmp = tempDir('rc-setup-cli-')
    db = path.join(tmp.dir, 'chat.db')
    await execa(IMSG_SIM, ['init', '--db', db])
  })
  after(() => tmp.cleanup())

  const freshHome = () => fs.mkdtempSync(path.join(tmp.dir, 'home-'))

  it('a legacy top-level "imessage" config: --yes moves it under channels.imessage (comments kept) and goes on; without --yes and a TTY, exit 2 and nothing written', async () => {
    const home = freshHome()
    const legacy = '// mine\n{\n  imessage: {\n    dmPolicy: "allowlist", // keep me\n    allowFrom: ["+15551234567"],\n  },\n}\n'
    const file = path.join(home, 'remoteclaw.json')
    fs.writeFileSync(file, legacy)
    const args = ['setup', 'imessage', '--deployment', 'local', '--cli-path', IMSG_SIM, '--db-path', db, '--skip-checks']
    const refused = await runCli(args, {stateDir: home, env: {PATH: '/usr/bin:/bin'}})
    expect(refused.exitCode).to.equal(2)
    expect(refused.stderr).to.include('--yes (moves the top-level "imessage" block under channels.imessage first)')
    expect(fs.readFileSync(file, 'utf8')).to.equal(legacy)
    const r = await runCli([...args, '--yes'], {stateDir: home, env: {PATH: '/usr/bin:/bin'}})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stderr).to.include('Moved "imessage" under channels.imessage')
    const text = fs.readFileSync(file, 'utf8')
    expect(text).to.include('// keep me')
    const doc = JSON5.parse(text)
    expect(doc.imessage).to.equal(undefined)
    expect(doc.channels.imessage).to.deep.include({dmPolicy: 'allowlist', allowFrom: ['+15551234567'], cliPath: IMSG_SIM, dbPath: db})
    // On Linux a local (stand-in) imsg cannot send: no --send-test step is suggested there.
    if (process.platform !== 'darwin') expect(r.stdout).not.to.include('--send-test')
  })

  it('without a TTY it never prompts: exit 2 listing the missing flags, nothing written', async () => {
    const home = freshHome()
    const r = await runCli(['setup', 'imessage', '--deployment', 'remote'], {stateDir: home, env: {PATH: '/usr/bin:/bin'}})
    expect(r.exitCode).to.equal(2)
    expect(r.stderr).to.include('missing: --host, --ssh-user, --remote-imsg-path, --yes')
    expect(r.stderr).to.include('Fix:')
    expect(fs.existsSync(path.join(home, 'remoteclaw.json'))).to.equal(false)

    const j = await runCli(['setup', 'imessage', '--json'], {stateDir: home, env: {PATH: '/usr/bin:/bin'}})
    expect(j.exitCode).to.equal(2)
    const doc = JSON.parse(j.stdout) as {error: {code: string; details: {missing: string[]}}}
    expect(doc.error.code).to.equal('missing_answers')
    expect(doc.error.details.missing).to.include('--deployment')
  })

  it('flags only (--yes): writes the config and prints the doctor and next steps', async () => {
    const home = freshHome()
    const r = await runCli(['setup', 'imessage', '--deployment', 'local', '--cli-path', IMSG_SIM, '--db-path', db, '--yes'], {stateDir: home})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout).to.include('Config change')
    expect(r.stdout).to.include('Next steps:')
    expect(r.stdout).to.include('remoteclaw pairing approve imessage <CODE>')
    expect(r.stdout).to.match(/skip {2}Full Disk Access: skipped \(not macOS\)/)
    const cfg = JSON5.parse(fs.readFileSync(path.join(home, 'remoteclaw.json'), 'utf8'))
    expect(cfg.channels.imessage.cliPath).to.equal(IMSG_SIM)
    expect(fs.statSync(path.join(home, 'remoteclaw.json')).mode & 0o777).to.equal(0o600)

    const j = await runCli(['setup', 'imessage', '--deployment', 'local', '--cli-path', IMSG_SIM, '--db-path', db, '--yes', '--json'], {stateDir: home})
    const doc = JSON.parse(j.stdout) as {schemaVersion: number; changed: boolean; doctor: {schemaVersion: number}}
    expect(doc.schemaVersion).to.equal(1)
    expect(doc.changed).to.equal(false)
    expect(doc.doctor.schemaVersion).to.equal(1)
  })

  it('inside a real pseudo-terminal: prompts, shows the diff, writes after confirmation', async function () {
    if ((await execa('python3', ['-c', 'import pty'], {reject: false})).exitCode !== 0) this.skip()
    const home = freshHome()
    const r = await runInPty(['setup', 'imessage', '--deployment', 'local', '--db-path', db], home, [
      ['Path to imsg', `${IMSG_SIM}\r`],
      ['Write these changes?', 'y\r'],
    ])
    expect(r.waitingFor, r.output).to.equal(undefined)
    expect(r.exit, r.output).to.equal(0)
    expect(r.output).to.include('+      cliPath:')
    expect(r.output).to.include('Next steps:')
    const cfg = JSON5.parse(fs.readFileSync(path.join(home, 'remoteclaw.json'), 'utf8'))
    expect(cfg.channels.imessage).to.deep.equal({enabled: true, cliPath: IMSG_SIM, dbPath: db})
  })

  it('inside a pseudo-terminal: declining exits 3 and Ctrl-C exits 130, both writing nothing', async function () {
    if ((await execa('python3', ['-c', 'import pty'], {reject: false})).exitCode !== 0) this.skip()
    const home = freshHome()
    const no = await runInPty(['setup', 'imessage', '--deployment', 'local', '--cli-path', IMSG_SIM, '--db-path', db], home, [['Write these changes?', 'n\r']])
    expect(no.exit, no.output).to.equal(3)
    expect(fs.existsSync(path.join(home, 'remoteclaw.json'))).to.equal(false)

    const ctrlC = await runInPty(['setup', 'imessage'], home, [['Where does Messages run?', '\u0003']])
    expect(ctrlC.exit, ctrlC.output).to.equal(130)
    expect(fs.existsSync(path.join(home, 'remoteclaw.json'))).to.equal(false)
  })
})
