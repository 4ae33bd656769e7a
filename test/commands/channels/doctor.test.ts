import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {IMSG_SIM, runCli, tempDir} from '../../helpers/cli.js'

describe('remoteclaw channels doctor (built CLI)', function () {
  this.timeout(120_000)
  let tmp: ReturnType<typeof tempDir>
  let db: string

  before(async () => {
    tmp = tempDir('rc-doctor-cli-')
    db = path.join(tmp.dir, 'chat.db')
    await execa(IMSG_SIM, ['init', '--db', db])
  })
  after(() => tmp.cleanup())

  function homeWith(config: string): string {
    const home = fs.mkdtempSync(path.join(tmp.dir, 'home-'))
    fs.writeFileSync(path.join(home, 'remoteclaw.json'), config, {mode: 0o600})
    return home
  }
  const simConfig = (extra = '') => `{channels: {imessage: {cliPath: ${JSON.stringify(IMSG_SIM)}, dbPath: ${JSON.stringify(db)}, groupPolicy: "disabled"${extra}}}}`

  it('--json: a stable document with schemaVersion (shape snapshot), exit 0', async () => {
    const home = homeWith(simConfig())
    const r = await runCli(['channels', 'doctor', '--json'], {stateDir: home})
    expect(r.exitCode, r.stderr).to.equal(0)
    const doc = JSON.parse(r.stdout)
    const shape = {
      keys: Object.keys(doc),
      context: Object.keys(doc.context).sort(),
      checks: doc.checks.map((c: {id: string; status: string}) => `${c.id}:${c.status}`),
      checkKeys: [...new Set(doc.checks.flatMap((c: object) => Object.keys(c)))].sort(),
      summary: Object.keys(doc.summary),
    }
    expect(shape).to.deep.equal({
      keys: ['schemaVersion', 'account', 'keyPrefix', 'context', 'checks', 'summary', 'exitCode'],
      context: ['cliPath', 'dbPath', 'mode', 'platform', 'resolvedCliPath'],
      checks: [
        'binary:pass',
        'version:pass',
        'rpc_support:pass',
        `full_disk_access:${process.platform === 'darwin' ? 'pass' : 'skip'}`,
        'rpc_probe:pass',
        'automation:skip',
        'attachments:info',
        'dm_policy:info',
        'group_policy:info',
        'footgun.pairing_reply_personal_number:warn',
      ],
      checkKeys: ['details', 'fix', 'id', 'message', 'status', 'title'],
      summary: ['passed', 'warnings', 'failed', 'skipped'],
    })
    expect(doc.schemaVersion).to.equal(1)
    expect(doc.exitCode).to.equal(0)
  })

  it('--json with a plain SSH wrapper as cliPath: the host comes from the wrapper, attachments use remoteAttachmentRoots', async () => {
    const wrapper = path.join(tmp.dir, 'imsg-over-ssh')
    fs.writeFileSync(wrapper, '#!/bin/sh\nexec ssh -T -o BatchMode=yes -o ConnectTimeout=2 bot@127.0.0.1 imsg "$@"\n')
    fs.chmodSync(wrapper, 0o700)
    const home = homeWith(`{channels: {imessage: {cliPath: ${JSON.stringify(wrapper)}, includeAttachments: true, groupPolicy: "disabled"}}}`)
    const r = await runCli(['channels', 'doctor', '--json', '--timeout', '5'], {stateDir: home})
    const doc = JSON.parse(r.stdout)
    expect(doc.context).to.include({mode: 'wrapper', remoteHost: 'bot@127.0.0.1', remoteHostFrom: 'wrapper'})
    const messages = doc.checks.map((c: {message: string}) => c.message).join('\n')
    expect(messages).to.not.include('remoteHost is unset')
    const remoteHost = doc.checks.find((c: {id: string}) => c.id === 'remote_host')
    expect(remoteHost.message).to.include(`remote host bot@127.0.0.1 (from the wrapper ${wrapper})`)
    const attachments = doc.checks.find((c: {id: string}) => c.id === 'attachments')
    expect(attachments.message).to.include('/Users/*/Library/Messages/Attachments on bot@127.0.0.1, fetched over SCP (remoteAttachmentRoots, the default)')
    expect(attachments.details).to.include({rootsKey: 'remoteAttachmentRoots', keyToExtend: 'channels.imessage.remoteAttachmentRoots'})
  })

  it('a failed check exits 5, with and without --json', async () => {
    const home = homeWith(simConfig())
    const human = await runCli(['channels', 'doctor'], {stateDir: home, env: {IMSG_SIM_NO_RPC: '1'}})
    expect(human.exitCode).to.equal(5)
    expect(human.stdout).to.match(/FAIL {2}rpc support/)
    expect(human.stdout).to.include('Fix: Upgrade imsg')
    const json = await runCli(['channels', 'doctor', '--json'], {stateDir: home, env: {IMSG_SIM_NO_RPC: '1'}})
    expect(json.exitCode).to.equal(5)
    expect(JSON.parse(json.stdout).exitCode).to.equal(5)
  })

  it('imsg not found exits 6', async () => {
    const home = homeWith(`{channels: {imessage: {cliPath: "/nonexistent/imsg"}}}`)
    const r = await runCli(['channels', 'doctor', '--json'], {stateDir: home})
    expect(r.exitCode).to.equal(6)
    expect(JSON.parse(r.stdout).checks[0]).to.include({id: 'binary', status: 'fail', severity: 'unreachable'})
  })

  it('an invalid config exits 7; an unknown account exits 4', async () => {
    const bad = await runCli(['channels', 'doctor'], {stateDir: homeWith('{channels: {imessage: {dmPolicy: "sometimes"}}}')})
    expect(bad.exitCode).to.equal(7)
    const unknown = await runCli(['channels', 'doctor', '--account', 'nope'], {stateDir: homeWith(simConfig())})
    expect(unknown.exitCode).to.equal(4)
    expect(unknown.stderr).to.include('--account')
  })

  it('--send-test on Linux: Automation is skipped (not macOS), nothing is sent', async () => {
    const home = homeWith(simConfig())
    const r = await runCli(['channels', 'doctor', '--send-test', '+15555550123', '--json'], {stateDir: home})
    const a = JSON.parse(r.stdout).checks.find((c: {id: string}) => c.id === 'automation')
    if (process.platform === 'darwin') return
    expect(a.message).to.include('skipped (not macOS)')
    const sent = JSON.parse(String((await execa(IMSG_SIM, ['sent', '--db', db, '--json'])).stdout) || '[]') as unknown[]
    expect(sent).to.have.length(0)
  })
})
