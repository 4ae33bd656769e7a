import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {writeGatewayHealth} from '../../../src/lib/gateway/health.js'
import {BRIDGE_FIX} from '../../../src/lib/imsg/capabilities.js'
import {IMSG_SIM, runCli, tempDir} from '../../helpers/cli.js'

const BRIDGE_DOWN = {usable: false, reason: 'the IMCore bridge is not running', fix: BRIDGE_FIX}
const UPGRADE = 'Update imsg (brew upgrade steipete/tap/imsg); 0.15 or newer reports its capabilities.'

/** A state dir with a config pointing at the simulator and a fresh chat.db with one chat. */
async function setup(extra: Record<string, unknown> = {}): Promise<{dir: string; db: string; cleanup: () => void}> {
  const t = tempDir('rc-status-')
  const db = path.join(t.dir, 'chat.db')
  await execa(IMSG_SIM, ['inject', '--db', db, '--from', '+15551234567', '--text', 'hello'])
  const config = {channels: {imessage: {cliPath: IMSG_SIM, dbPath: db, groupPolicy: 'disabled', ...extra}}}
  fs.writeFileSync(path.join(t.dir, 'remoteclaw.json'), JSON.stringify(config, null, 2))
  return {...t, db}
}

interface Check {
  id: string
  status: string
  message: string
  fix?: string
  code?: string
}
interface StatusDoc {
  schemaVersion: number
  exitCode: number
  healthy: boolean
  probed: boolean
  accounts: Array<{id: string; status: string; checks?: Check[]; version?: string; protocol?: string; methods?: string[]; latencyMs?: number}>
  gateway: {state: string}
  problem?: {message: string; fix: string}
}

async function status(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = await runCli(['channels', 'status', ...args, '--json'], {stateDir: dir, env, timeout: 30_000})
  const doc = JSON.parse(r.stdout) as StatusDoc
  return {...r, doc}
}

function failed(doc: StatusDoc): Check {
  const c = doc.accounts[0]!.checks!.find((x) => x.status === 'fail')
  expect(c, JSON.stringify(doc.accounts[0]!.checks)).to.not.equal(undefined)
  return c!
}

/** Replaces run-dependent values so the document's shape can be compared exactly. */
function normalize(doc: unknown, dir: string): unknown {
  return JSON.parse(
    JSON.stringify(doc, (k, v) => (k === 'durationMs' || k === 'latencyMs' ? '<ms>' : v))
      .split(dir)
      .join('<TMP>')
      .replace(/answered in [\d.]+ ms/, 'answered in <n> ms'),
  )
}

describe('channels status (built CLI, imsg simulator as cliPath)', function () {
  this.timeout(60_000)

  it('--probe on a healthy 0.9.0 imsg: exit 0 and the schemaVersion 1 document (snapshot)', async () => {
    const {dir, cleanup} = await setup()
    try {
      const {exitCode, doc} = await status(dir, ['--probe'])
      expect(exitCode).to.equal(0)
      expect(normalize(doc, dir)).to.deep.equal({
        schemaVersion: 1,
        probed: true,
        healthy: true,
        exitCode: 0,
        configPath: '<TMP>/remoteclaw.json',
        warnings: [],
        gateway: {state: 'not-running', summary: 'the gateway is not running (start it: remoteclaw gateway)'},
        accounts: [
          {
            id: 'default',
            enabled: true,
            status: 'healthy',
            cliPath: IMSG_SIM,
            dbPath: '<TMP>/chat.db',
            service: 'auto',
            region: 'US',
            dmPolicy: 'pairing',
            groupPolicy: 'disabled',
            checks: [
              {id: 'configured', status: 'pass', message: `account "default" is configured (cliPath ${IMSG_SIM})`},
              {id: 'cli_found', status: 'pass', message: `found ${IMSG_SIM}`},
              {id: 'rpc_supported', status: 'pass', message: '`rpc --help` describes the rpc command', durationMs: '<ms>'},
              {id: 'db_readable', status: 'pass', message: '<TMP>/chat.db is readable by this process'},
              {id: 'rpc_session', status: 'pass', message: 'chats.list answered in <n> ms (lenient protocol)', durationMs: '<ms>'},
              {id: 'version', status: 'pass', message: 'imsg 0.9.0 (lenient protocol)'},
            ],
            version: '0.9.0',
            protocol: 'lenient',
            // from `imsg status --json` (0.9.0 predates RPC status)
            capabilitySet: {
              source: 'cli-status',
              typing: BRIDGE_DOWN,
              read: BRIDGE_DOWN,
              tapback: BRIDGE_DOWN,
              emojiTapback: BRIDGE_DOWN,
              threadedReply: {usable: false, reason: 'threaded replies need imsg 0.12 or newer (this is 0.9.0)', fix: UPGRADE},
              trackedSend: {usable: false, reason: 'tracked sends need imsg 0.15 or newer; unknown send outcomes are settled by reading the chat back instead', fix: UPGRADE},
            },
            latencyMs: '<ms>',
          },
        ],
      })
    } finally {
      cleanup()
    }
  })

  it('--probe on a strict 0.14.0 imsg reports version, protocol and methods from initialize', async () => {
    const {dir, cleanup} = await setup()
    try {
      const {exitCode, doc} = await status(dir, ['--probe'], {IMSG_SIM_VERSION: '0.14.0'})
      expect(exitCode).to.equal(0)
      const a = doc.accounts[0]!
      expect(a.protocol).to.equal('strict')
      expect(a.version).to.equal('0.14.0')
      expect(a.methods).to.include('chats.list')
      expect(a.latencyMs).to.be.a('number')
    } finally {
      cleanup()
    }
  })

  describe('Full Disk Access missing, per imsg version (exit 5)', () => {
    const cases: Array<[string, string]> = [
      ['0.5.0', `imsg cannot read the Messages database (Full Disk Access missing); imsg exited with code 1 before answering initialize; it printed: permissionDenied(path: "<DB>", underlying: authorization denied (code: 23))`],
      ['0.8.0', 'imsg cannot read the Messages database (Full Disk Access missing); imsg exited with code 1 before answering initialize; it printed: authorization denied (code: 23)'],
      ['0.9.0', 'imsg cannot read the Messages database (Full Disk Access missing): authorization denied (code: 23)'],
      ['0.14.0', 'imsg cannot read the Messages database (Full Disk Access missing): The configured Messages database could not be opened read-only. Verify the path and grant Full Disk Access to the supervising process, then retry.'],
    ]
    for (const [version, message] of cases) {
      it(`imsg ${version}`, async () => {
        const {dir, db, cleanup} = await setup()
        try {
          const {exitCode, doc} = await status(dir, ['--probe'], {IMSG_SIM_FDA: 'missing', IMSG_SIM_VERSION: version})
          expect(exitCode).to.equal(5)
          expect(doc.accounts[0]!.status).to.equal('unhealthy')
          const c = failed(doc)
          expect(c.id).to.equal('rpc_session')
          expect(c.code).to.equal('imsg_full_disk_access')
          expect(c.message).to.equal(message.replace('<DB>', db))
          expect(c.fix).to.match(new RegExp(`^Grant Full Disk Access to the exact process context that runs ${IMSG_SIM}`))
          expect(c.fix).to.include('Toggle stale entries off and on')
        } finally {
          cleanup()
        }
      })
    }
  })

  it('FDA missing in human mode prints the failed check and its fix (same exit code)', async () => {
    const {dir, cleanup} = await setup()
    try {
      const r = await runCli(['channels', 'status', '--probe'], {stateDir: dir, env: {IMSG_SIM_FDA: 'missing'}})
      expect(r.exitCode).to.equal(5)
      expect(r.stdout).to.include('iMessage account default: unhealthy')
      expect(r.stdout).to.include('✗ rpc_session: imsg cannot read the Messages database (Full Disk Access missing)')
      expect(r.stdout).to.include('Fix: Grant Full Disk Access')
    } finally {
      cleanup()
    }
  })

  it('an imsg without rpc: RPC unsupported, update imsg (exit 5)', async () => {
    const {dir, cleanup} = await setup()
    try {
      const {exitCode, doc} = await status(dir, ['--probe'], {IMSG_SIM_NO_RPC: '1'})
      expect(exitCode).to.equal(5)
      const c = failed(doc)
      expect(c.id).to.equal('rpc_supported')
      expect(c.code).to.equal('imsg_rpc_unsupported')
      expect(c.message).to.equal(`RPC unsupported: \`${IMSG_SIM} rpc --help\` does not describe the rpc command (it printed: imsg 0.9.0)`)
      expect(c.fix).to.include('brew upgrade steipete/tap/imsg')
    } finally {
      cleanup()
    }
  })

  for (const [knob, env] of [
    ['a hang', {IMSG_SIM_HANG: '1'}],
    ['a hang that ignores SIGTERM', {IMSG_SIM_HANG: '1', IMSG_SIM_IGNORE_SIGTERM: '1'}],
    ['slow responses past the timeout', {IMSG_SIM_DELAY_MS: '5000'}],
    ['a strict-era hang', {IMSG_SIM_HANG: '1', IMSG_SIM_VERSION: '0.14.0'}],
  ] as const) {
    it(`${knob}: unreachable (exit 6) at --timeout, with the wrapper/prompt fix`, async () => {
      const {dir, cleanup} = await setup()
      try {
        const {exitCode, doc} = await status(dir, ['--probe', '--timeout', '1500'], env)
        expect(exitCode).to.equal(6)
        expect(doc.accounts[0]!.status).to.equal('unreachable')
        const c = failed(doc)
        expect(c.code).to.equal('imsg_timeout')
        expect(c.message).to.equal('imsg did not answer initialize within the 1500 ms probe timeout (killed it)')
        expect(c.fix).to.include('buffers stdin').and.include('ssh -T').and.include('BatchMode')
      } finally {
        cleanup()
      }
    })
  }

  it('slow responses within the timeout are healthy', async () => {
    const {dir, cleanup} = await setup()
    try {
      const {exitCode, doc} = await status(dir, ['--probe', '--timeout', '5000'], {IMSG_SIM_DELAY_MS: '200'})
      expect(exitCode).to.equal(0)
      expect(doc.accounts[0]!.latencyMs).to.be.at.least(150)
    } finally {
      cleanup()
    }
  })

  it('garbage lines on stdout: still healthy (exit 0), with a warning naming the line', async () => {
    const {dir, cleanup} = await setup()
    try {
      const {exitCode, doc} = await status(dir, ['--probe'], {IMSG_SIM_GARBAGE: '50', IMSG_SIM_GARBAGE_TEXT: 'Last login: Mon Nov 23'})
      expect(exitCode).to.equal(0)
      const w = doc.accounts[0]!.checks!.find((c) => c.status === 'warn')!
      expect(w.id).to.equal('rpc_output')
      expect(w.message).to.equal('imsg printed 50 non-JSON lines on stdout (ignored), e.g.: Last login: Mon Nov 23')
    } finally {
      cleanup()
    }
  })

  it('a crash before the first answer: unhealthy (exit 5) with the exit code and imsg\'s last words', async () => {
    const {dir, cleanup} = await setup()
    try {
      const {exitCode, doc} = await status(dir, ['--probe'], {IMSG_SIM_CRASH_AFTER: '0'})
      expect(exitCode).to.equal(5)
      const c = failed(doc)
      expect(c.code).to.equal('imsg_exited')
      expect(c.message).to.equal(
        'imsg exited with code 134 before answering initialize; it printed: imsg/RPCServer.swift:212: Fatal error: simulated crash (IMSG_SIM_CRASH_AFTER)',
      )
    } finally {
      cleanup()
    }
  })

  it('a crash after the first answer is reported on the next request', async () => {
    const {dir, cleanup} = await setup()
    try {
      const {exitCode, doc} = await status(dir, ['--probe'], {IMSG_SIM_CRASH_AFTER: '1', IMSG_SIM_VERSION: '0.14.0'})
      expect(exitCode).to.equal(5)
      expect(failed(doc).message).to.match(/^imsg exited with code 134 before answering chats\.list/)
    } finally {
      cleanup()
    }
  })

  it('imsg not found: unreachable (exit 6) with the brew fix', async () => {
    const {dir, cleanup} = await setup({cliPath: 'imsg-not-installed-here'})
    try {
      const {exitCode, doc} = await status(dir, ['--probe'])
      expect(exitCode).to.equal(6)
      const c = failed(doc)
      expect(c.id).to.equal('cli_found')
      expect(c.message).to.equal('imsg not found: imsg-not-installed-here (not on PATH)')
      expect(c.fix).to.include('brew install steipete/tap/imsg').and.include('channels.imessage.cliPath')
    } finally {
      cleanup()
    }
  })

  it('a wrapper script on PATH is resolved by bare name and works (stdio only)', async () => {
    const {dir, db, cleanup} = await setup({cliPath: 'imsg-wrapper'})
    try {
      const bin = path.join(dir, 'bin')
      fs.mkdirSync(bin)
      fs.writeFileSync(path.join(bin, 'imsg-wrapper'), `#!/bin/sh\nexec "${IMSG_SIM}" "$@"\n`, {mode: 0o755})
      const {exitCode, doc} = await status(dir, ['--probe'], {PATH: `${bin}${path.delimiter}${process.env.PATH}`})
      expect(exitCode, JSON.stringify(doc)).to.equal(0)
      expect(doc.accounts[0]!.checks!.find((c) => c.id === 'cli_found')!.message).to.equal(`found ${path.join(bin, 'imsg-wrapper')}`)
      expect(db).to.be.a('string')
    } finally {
      cleanup()
    }
  })

  it('without --probe: configuration status, exit 0, no imsg spawned', async () => {
    const {dir, cleanup} = await setup({cliPath: '/nonexistent/imsg'})
    try {
      const {exitCode, doc} = await status(dir, [])
      expect(exitCode).to.equal(0)
      expect(doc.probed).to.equal(false)
      expect(doc.accounts[0]!.status).to.equal('configured')
      expect(doc.accounts[0]!.checks).to.equal(undefined)
    } finally {
      cleanup()
    }
  })

  it('no iMessage account configured: exit 5 with the setup fix', async () => {
    const {dir, cleanup} = tempDir()
    try {
      const {exitCode, doc} = await status(dir, ['--probe'])
      expect(exitCode).to.equal(5)
      expect(doc.accounts).to.deep.equal([])
      expect(doc.problem!.message).to.equal('no iMessage account is configured')
      expect(doc.problem!.fix).to.include('remoteclaw setup imessage')
    } finally {
      cleanup()
    }
  })

  it('an invalid config exits 7, with and without --json', async () => {
    const {dir, cleanup} = tempDir()
    try {
      fs.writeFileSync(path.join(dir, 'remoteclaw.json'), '{channels: {imessage: {cliPath: 42}}}')
      const a = await runCli(['channels', 'status', '--probe', '--json'], {stateDir: dir})
      const b = await runCli(['channels', 'status'], {stateDir: dir})
      expect(a.exitCode).to.equal(7)
      expect(b.exitCode).to.equal(7)
      expect(JSON.parse(a.stdout).error.code).to.equal('config_invalid')
    } finally {
      cleanup()
    }
  })

  it('an unknown --account exits 4', async () => {
    const {dir, cleanup} = await setup()
    try {
      const r = await runCli(['channels', 'status', '--account', 'nope'], {stateDir: dir})
      expect(r.exitCode).to.equal(4)
      expect(r.stderr).to.include('no iMessage account "nope"')
    } finally {
      cleanup()
    }
  })

  it('a disabled account is reported, not probed, and does not fail the exit code', async () => {
    const {dir, cleanup} = await setup({enabled: false, cliPath: '/nonexistent/imsg'})
    try {
      const {exitCode, doc} = await status(dir, ['--probe'])
      expect(exitCode).to.equal(0)
      expect(doc.accounts[0]!.status).to.equal('disabled')
    } finally {
      cleanup()
    }
  })

  it('without --probe shows what the running gateway recorded: child pid, imsg version, start, last inbound and send, restarts', async () => {
    const {dir, cleanup} = await setup()
    try {
      const now = new Date().toISOString()
      const health = {
        accountId: 'default', running: true, state: 'running' as const, childPid: 4242, imsgVersion: '0.9.0', startedAt: now,
        lastInboundAt: now, lastStreamEventAt: now, lastSendAt: now, lastSendOutcome: 'sent' as const, restarts: 2, consecutiveFailures: 0,
      }
      await writeGatewayHealth(dir, {schemaVersion: 1, pid: process.pid, startedAt: now, updatedAt: now, accounts: {default: health}})
      const {exitCode, doc} = await status(dir, [])
      expect(exitCode).to.equal(0)
      const g = (doc.accounts[0] as unknown as {gateway: Record<string, unknown>}).gateway
      expect(g).to.include({running: true, childPid: 4242, imsgVersion: '0.9.0', startedAt: now, lastInboundAt: now, lastSendAt: now, lastSendOutcome: 'sent', restarts: 2})
      const human = await runCli(['channels', 'status'], {stateDir: dir})
      expect(human.stdout).to.contain(`gateway: running (imsg pid 4242, imsg 0.9.0, started ${now}, 2 restarts)`)
      expect(human.stdout).to.contain(`last inbound ${now}; last send ${now} (sent)`)
    } finally {
      cleanup()
    }
  })

  it('shows the running gateway\'s view; a degraded account makes status exit 5 without --probe', async () => {
    const {dir, cleanup} = await setup()
    try {
      const now = new Date().toISOString()
      await writeGatewayHealth(dir, {
        schemaVersion: 1,
        pid: process.pid,
        startedAt: now,
        updatedAt: now,
        accounts: {
          default: {accountId: 'default', running: false, state: 'restarting', restarts: 3, consecutiveFailures: 3, lastError: 'imsg exited with code 1'},
        },
      })
      const {exitCode, doc} = await status(dir, [])
      expect(exitCode).to.equal(5)
      expect(doc.gateway.state).to.equal('running')
      const a = doc.accounts[0] as unknown as {status: string; gateway: {degraded: boolean; problems: string[]}}
      expect(a.status).to.equal('unhealthy')
      expect(a.gateway.degraded).to.equal(true)
      expect(a.gateway.problems[0]).to.equal('imsg is restarting (3 failed starts in a row): imsg exited with code 1')
    } finally {
      cleanup()
    }
  })
})
