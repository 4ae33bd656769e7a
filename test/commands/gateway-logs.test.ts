import {expect} from 'chai'
import {execa, type ResultPromise} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {RUN_JS} from '../helpers/cli.js'
import {GatewayHarness, TEST_TIMINGS} from '../lib/gateway/harness.js'

/** The gateway's log file and `remoteclaw logs`, with the built CLI and the imsg simulator. */
describe('gateway log file and `remoteclaw logs` (CLI child + imsg simulator)', function () {
  this.timeout(180_000)
  let h: GatewayHarness

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
  })
  afterEach(async () => {
    await h.dispose()
  })

  const logDir = () => path.join(h.dir, 'logs')
  const fileLines = (f = 'gateway.log') =>
    fs
      .readFileSync(path.join(logDir(), f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as {level: string; msg: string; scope?: string})

  function follow(args: string[]): {child: ResultPromise; lines: string[]} {
    const lines: string[] = []
    let buf = ''
    const child = execa(process.execPath, [RUN_JS, 'logs', '--follow', ...args], {
      env: {HOME: h.dir, REMOTECLAW_STATE_DIR: h.dir, NO_COLOR: '1'},
      reject: false,
      buffer: false,
      stdin: 'ignore',
    })
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', (c: string) => {
      buf += c
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i))
        buf = buf.slice(i + 1)
      }
    })
    child.stderr?.resume()
    return {child, lines}
  }

  it('writes JSON lines to <stateDir>/logs/gateway.log (0700/0600) whatever --log-format says; `logs` shows them in the text format', async () => {
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    // --log-format text on stderr (the harness uses json): the file still gets JSON lines.
    const gw = execa(process.execPath, [RUN_JS, 'gateway', '--log-format', 'text'], {
      env: {HOME: h.dir, REMOTECLAW_STATE_DIR: h.dir, NO_COLOR: '1', REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify(TEST_TIMINGS)},
      reject: false,
      stdin: 'ignore',
    })
    await h.waitFor(() => fs.existsSync(path.join(logDir(), 'gateway.log')) && fileLines().some((l) => /imsg rpc running/.test(l.msg)), 'running, in the file')
    await h.inject('+15550200001', 'hello log')
    await h.waitForSent(1)
    gw.kill('SIGTERM')
    const res = await gw
    expect(res.exitCode).to.equal(0)
    expect(fs.statSync(logDir()).mode & 0o777).to.equal(0o700)
    expect(fs.statSync(path.join(logDir(), 'gateway.log')).mode & 0o777).to.equal(0o600)
    const lines = fileLines()
    expect(lines.some((l) => /imsg rpc running/.test(l.msg) && l.scope === 'imessage:default')).to.equal(true)
    expect(lines.at(-1)!.msg).to.equal('gateway stopped')
    // stderr got the same records as text
    expect(String(res.stderr)).to.match(/Z INFO +\[gateway\] gateway stopped\n?$/)
    expect(String(res.stderr).trim().split('\n')).to.have.length(lines.length)

    const r = await h.cli(['logs', '--lines', '3'])
    expect(r.exitCode, r.stderr).to.equal(0)
    const out = r.stdout.trimEnd().split('\n')
    expect(out).to.have.length(3)
    expect(out.at(-1)).to.match(/^\d{4}-\d\d-\d\dT\S+Z INFO +\[gateway\] gateway stopped$/)
    expect(r.stdout).to.not.include('\u001b[')

    const js = await h.cli(['logs', '--json', '--account', 'default', '--grep', 'IMSG RPC RUNNING'])
    expect(js.exitCode).to.equal(0)
    const parsed = js.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as {scope: string; msg: string})
    expect(parsed.length).to.be.greaterThan(0)
    expect(parsed.every((l) => l.scope === 'imessage:default' && /imsg rpc running/.test(l.msg))).to.equal(true)
    const none = await h.cli(['logs', '--account', 'nobody'])
    expect(none.stdout).to.equal('')
    const warn = await h.cli(['logs', '--level', 'error', '--json'])
    expect(warn.stdout.split('\n').filter(Boolean).every((l) => JSON.parse(l).level === 'error')).to.equal(true)
    const since = await h.cli(['logs', '--since', '1h', '--json'])
    expect(since.stdout.trimEnd().split('\n')).to.have.length(lines.length)
    const future = await h.cli(['logs', '--since', '2999-01-01T00:00:00Z'])
    expect(future.stdout).to.equal('')
    const bad = await h.cli(['logs', '--since', 'yesterday'])
    expect(bad.exitCode).to.equal(2)
    expect(bad.stderr).to.include('Use a duration such as 30s, 10m')
  })

  it('no log file yet: exit 4 with what to do', async () => {
    const r = await h.cli(['logs'])
    expect(r.exitCode).to.equal(4)
    expect(r.stderr).to.include('no gateway log yet')
    expect(r.stderr).to.include('remoteclaw gateway install')
  })

  it('under the service (REMOTECLAW_SERVICE) nothing goes to stderr: the log file has it all, once', async () => {
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start({REMOTECLAW_SERVICE: 'systemd'})
    await h.waitFor(() => fs.existsSync(path.join(logDir(), 'gateway.log')) && fileLines().some((l) => /imsg rpc running/.test(l.msg)), 'the log file says running')
    await h.inject('+15550200002', 'as a service')
    await h.waitForSent(1)
    expect(await h.stop()).to.equal(0)
    expect(h.logs, 'stderr lines').to.deep.equal([])
    const msgs = fileLines().map((l) => l.msg)
    expect(msgs.filter((m) => m === 'gateway stopped')).to.have.length(1)
  })

  it('rotates by size keeping 5 old files, and `logs --follow` keeps going across every rotation', async () => {
    // Every inbound DM from a stranger is dropped with one info line naming the sender.
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: ['+19999999999']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    const f = follow(['--json', '--lines', '0'])
    h.start({REMOTECLAW_LOG_ROTATE_SIZE: '2K'})
    await h.ready()
    const senders = Array.from({length: 60}, (_, i) => `+1555030${String(i).padStart(4, '0')}`)
    for (let i = 0; i < senders.length; i += 10) {
      await h.injectBatch(senders.slice(i, i + 10).map((from) => ({from, text: 'let me in'})))
      await h.waitFor(() => senders.slice(i, i + 10).every((s) => h.logs.some((l) => l.msg.includes(s))), `drops of batch ${i / 10}`, 30_000)
    }
    expect(await h.stop()).to.equal(0)
    await h.waitFor(() => f.lines.some((l) => l.includes('"gateway stopped"')), 'the follower to see the stop', 20_000)
    f.child.kill('SIGINT')
    await f.child
    const followed = f.lines.map((l) => JSON.parse(l) as {msg: string})
    // Exactly the gateway's lines, in order, each once: compare with what it wrote on stderr.
    const written = h.logs.filter((l) => l.level !== 'raw').map((l) => l.msg)
    expect(followed.map((l) => l.msg)).to.deep.equal(written)
    for (const s of senders) expect(followed.filter((l) => l.msg.includes(s)), s).to.have.length(1)
    const files = fs.readdirSync(logDir()).filter((n) => n.startsWith('gateway.log')).sort()
    expect(files).to.deep.equal(['gateway.log', 'gateway.log.1', 'gateway.log.2', 'gateway.log.3', 'gateway.log.4', 'gateway.log.5'])
    for (const n of files) expect(fs.statSync(path.join(logDir(), n)).mode & 0o777, n).to.equal(0o600)
  })
})
