import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {IMSG_SIM} from '../helpers/cli.js'
import {GatewayHarness} from '../lib/gateway/harness.js'

/** Each inbound text is answered exactly once (echo agent: the reply is the text). */
function expectExactlyOnce(sentTexts: string[], inbound: string[]): void {
  const counts = new Map<string, number>()
  for (const t of sentTexts) counts.set(t, (counts.get(t) ?? 0) + 1)
  const wrong = inbound.filter((t) => counts.get(t) !== 1).map((t) => `${t} x${counts.get(t) ?? 0}`)
  expect(wrong, 'messages not answered exactly once').to.deep.equal([])
  expect(sentTexts.length).to.equal(inbound.length)
}

function batch(prefix: string, senders: number, perSender: number): Array<{from: string; text: string}> {
  const rows: Array<{from: string; text: string}> = []
  for (let i = 0; i < perSender; i++) {
    for (let s = 0; s < senders; s++) rows.push({from: `+1555010${String(s).padStart(4, '0')}`, text: `${prefix}-${s}-${i}`})
  }
  return rows
}

describe('gateway crash recovery (kill -9), CLI child + imsg simulator', function () {
  this.timeout(90_000)
  let h: GatewayHarness

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], outboundPerMinute: 1000}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
  })
  afterEach(async () => {
    await h.dispose()
  })

  it('kill -9 of the imsg child mid-stream: restarted from the cursor, every message answered exactly once', async () => {
    h.start()
    await h.ready()
    const a = batch('a', 20, 2)
    await h.injectBatch(a)
    await h.waitFor(async () => (await h.sent()).length >= 5, 'some replies')
    const pid = h.healthFile().accounts.default!.childPid!
    expect(pid).to.be.a('number')
    process.kill(pid, 'SIGKILL')
    const b = batch('b', 20, 1)
    await h.injectBatch(b)
    await h.waitFor(() => h.countLogs(/imsg rpc running/) >= 2, 'a restarted imsg child')
    const all = [...a, ...b].map((r) => r.text)
    await h.waitForSent(all.length, 30_000)
    await new Promise((r) => setTimeout(r, 1500)) // anything extra would show up now
    expectExactlyOnce((await h.sent()).map((s) => s.text), all)
    expect(h.healthFile().accounts.default!.restarts).to.be.greaterThanOrEqual(1)
  })

  it('kill -9 of the gateway itself mid-stream, then restart: every message answered exactly once', async () => {
    h.start()
    await h.ready()
    const a = batch('g', 20, 2)
    await h.injectBatch(a)
    await h.waitFor(async () => (await h.sent()).length >= 5, 'some replies')
    await h.stop('SIGKILL')
    const b = batch('h', 20, 1)
    await h.injectBatch(b) // arrives while no gateway runs
    h.start()
    await h.ready()
    const all = [...a, ...b].map((r) => r.text)
    await h.waitForSent(all.length, 30_000)
    await new Promise((r) => setTimeout(r, 1500))
    expectExactlyOnce((await h.sent()).map((s) => s.text), all)
  })

  it('restarts a child that keeps crashing (IMSG_SIM_CRASH_AFTER) and still answers everything once', async () => {
    h.start({IMSG_SIM_CRASH_AFTER: '40'})
    await h.ready()
    const a = batch('c', 10, 2)
    await h.injectBatch(a)
    const all = a.map((r) => r.text)
    await h.waitForSent(all.length, 45_000)
    await new Promise((r) => setTimeout(r, 1500))
    expectExactlyOnce((await h.sent()).map((s) => s.text), all)
    expect(h.countLogs(/imsg rpc running/)).to.be.greaterThan(1)
  })

  it('a terminal watch `error` notification restarts the child from the cursor (strict imsg 0.14 too)', async () => {
    for (const version of ['0.9.0', '0.14.0']) {
      h.start({IMSG_SIM_WATCH_ERROR_AFTER: '5', IMSG_SIM_VERSION: version})
      await h.ready()
      const rows = batch(`w${version}`, 6, 2)
      await h.injectBatch(rows)
      await h.waitForLog(/watch stream ended/)
      await h.waitFor(async () => (await h.sent()).filter((x) => x.text.startsWith(`w${version}`)).length >= rows.length, `all ${version} replies`, 30_000)
      await new Promise((r) => setTimeout(r, 1000))
      const mine = (await h.sent()).map((x) => x.text).filter((t) => t.startsWith(`w${version}`))
      expectExactlyOnce(mine, rows.map((r) => r.text))
      expect(await h.stop()).to.equal(0)
    }
  })

  it('a frozen imsg child (SIGSTOP) fails its liveness probes and is replaced; nothing is lost', async () => {
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], outboundPerMinute: 1000, rpcTimeoutMs: 300}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start({REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({debounceMs: 20, backoffBaseMs: 100, maxBackoffMs: 1000, probeIntervalMs: 300})})
    await h.ready()
    await h.inject('+15550107000', 'before the freeze')
    await h.waitForSent(1)
    const pid = h.healthFile().accounts.default!.childPid!
    process.kill(pid, 'SIGSTOP')
    await h.inject('+15550107001', 'during the freeze')
    await h.waitForLog(/did not answer two liveness probes/)
    await h.waitFor(() => h.countLogs(/imsg rpc running/) >= 2, 'a new child')
    const sent = await h.waitForSent(2)
    expect(sent.map((x) => x.text)).to.deep.equal(['before the freeze', 'during the freeze'])
    expect(h.healthFile().accounts.default!.childPid).to.not.equal(pid)
  })

  it('a watch that silently stops delivering (stalled stream) is detected by the probe and restarted from the cursor', async () => {
    // A wrapper around the simulator that swallows watch notifications while <dir>/stall exists:
    // requests still work, the stream just goes quiet, as after a WAL rotation on a Mac.
    const wrapper = path.join(h.dir, 'imsg-stalling')
    const flag = path.join(h.dir, 'stall')
    fs.writeFileSync(
      wrapper,
      `#!/usr/bin/env node
const {spawn} = require('node:child_process')
const fs = require('node:fs')
const child = spawn(${JSON.stringify(IMSG_SIM)}, process.argv.slice(2), {stdio: ['pipe', 'pipe', 'inherit']})
process.stdin.pipe(child.stdin)
let buf = ''
child.stdout.on('data', (c) => {
  buf += c
  let i
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i + 1)
    buf = buf.slice(i + 1)
    if (line.includes('"method":"message"') && fs.existsSync(${JSON.stringify(flag)})) continue
    process.stdout.write(line)
  }
})
child.on('exit', (code) => process.exit(code ?? 1))
`,
      {mode: 0o755},
    )
    fs.renameSync(wrapper, wrapper + '.cjs')
    h.writeConfig({cliPath: wrapper + '.cjs', dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start({REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({debounceMs: 20, backoffBaseMs: 100, maxBackoffMs: 1000, probeIntervalMs: 400})})
    await h.ready()
    await h.inject('+15550108000', 'before the stall')
    await h.waitForSent(1)
    fs.writeFileSync(flag, '')
    await new Promise((r) => setTimeout(r, 1100)) // a message newer than anything streamed so far
    await h.inject('+15550108001', 'lost by the stalled watch')
    await h.waitForLog(/the watch stream stalled/, 10_000)
    fs.rmSync(flag)
    const sent = await h.waitForSent(2)
    expect(sent.map((x) => x.text)).to.deep.equal(['before the stall', 'lost by the stalled watch'])
  })

  it('SIGTERM while imsg is down and a reply waits for it: exits at once (not after drainTimeoutMs), the reply is sent once after the next start', async () => {
    const flag = path.join(h.dir, 'imsg-down')
    const wrapper = path.join(h.dir, 'imsg-flaky')
    fs.writeFileSync(wrapper, `#!/bin/sh\n[ -e ${JSON.stringify(flag)} ] && exit 1\nexec ${JSON.stringify(IMSG_SIM)} "$@"\n`, {mode: 0o755})
    const agent = path.join(h.dir, 'slow-agent.mjs')
    fs.writeFileSync(agent, `process.stdin.resume()\nsetTimeout(() => process.stdout.write('the slow reply'), 1500)\n`)
    h.writeConfig({cliPath: wrapper, dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'command', command: [process.execPath, agent]}]}})
    // drainTimeoutMs above the harness's 5 s SIGKILL: waiting it out shows as exit null.
    const timings = JSON.stringify({debounceMs: 20, backoffBaseMs: 100, maxBackoffMs: 300, probeIntervalMs: 0, drainTimeoutMs: 8_000})
    h.start({REMOTECLAW_GATEWAY_TIMINGS: timings})
    await h.ready()
    await h.inject('+15550110000', 'answer me while imsg is down')
    await new Promise((r) => setTimeout(r, 300)) // the agent is running
    fs.writeFileSync(flag, '')
    process.kill(h.healthFile().accounts.default!.childPid!, 'SIGKILL')
    await h.waitFor(() => h.countLogs(/imsg stopped/) >= 2, 'imsg failing to restart')
    await new Promise((r) => setTimeout(r, 1800)) // the reply now waits for a child
    expect(await h.stop()).to.equal(0)
    expect(await h.sent()).to.deep.equal([])
    expect(h.findLog(/reply not sent yet/)).to.not.equal(undefined)
    fs.rmSync(flag)
    h.start({REMOTECLAW_GATEWAY_TIMINGS: timings})
    await h.ready()
    await h.waitForSent(1)
    await new Promise((r) => setTimeout(r, 1000))
    expect((await h.sent()).map((x) => x.text)).to.deep.equal(['the slow reply'])
  })

  it('a reply held by the per-chat rate limit at shutdown is sent after the next start, exactly once', async () => {
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], outboundPerMinute: 1}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    await h.inject('+15550109000', 'first')
    await h.waitForSent(1)
    await h.inject('+15550109000', 'second')
    await h.waitForLog(/outbound rate limit of 1\/min reached; reply queued/)
    expect(await h.stop()).to.equal(0)
    expect((await h.sent()).map((x) => x.text)).to.deep.equal(['first'])
    expect(h.findLog(/reply not sent yet/)).to.not.equal(undefined)
    h.start()
    await h.ready()
    await h.waitForSent(2)
    await new Promise((r) => setTimeout(r, 1000))
    expect((await h.sent()).map((x) => x.text)).to.deep.equal(['first', 'second'])
  })
})

