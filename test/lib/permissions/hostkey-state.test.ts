import {expect} from 'chai'
import fs from 'node:fs'
import type {AddressInfo} from 'node:net'
import path from 'node:path'
import ssh2 from 'ssh2'
import {createContext, type Context} from '../../../src/lib/context.js'
import {createLogger} from '../../../src/lib/log.js'
import {hostKeyState} from '../../../src/lib/permissions/deps.js'
import {hostKeyFromPublicLine} from '../../../src/lib/ssh/hostkey.js'
import {tempDir} from '../../helpers/cli.js'
import {hostKeyFixture} from '../../helpers/hostkeys.js'

/** An ssh2 server that only gets as far as the key exchange: enough to offer its host keys. */
async function keyServer(hostKeys: string[]): Promise<{port: number; close: () => Promise<void>}> {
  const server = new ssh2.Server({hostKeys}, (client) => {
    client.on('error', () => {})
    client.on('authentication', (ctx) => ctx.reject())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve()))}
}

function publicLine(privateKey: string): string {
  const k = ssh2.utils.parseKey(privateKey)
  if (k instanceof Error) throw k
  const one = Array.isArray(k) ? k[0]! : k
  return `${one.type} ${one.getPublicSSH().toString('base64')}`
}

describe('doctor remoteHost host key: OpenSSH prefers the key types it already knows', function () {
  this.timeout(30_000)
  const ed = hostKeyFixture('ed25519')
  const ecdsa = hostKeyFixture('ecdsa')
  const ecdsaOther = hostKeyFixture('ecdsa-other')
  let tmp: ReturnType<typeof tempDir>
  let ctx: Context
  const servers: Array<{close: () => Promise<void>}> = []

  beforeEach(() => {
    tmp = tempDir('rc-hk-types-')
    ctx = createContext({env: {...process.env, HOME: tmp.dir}, home: tmp.dir, stateDir: tmp.dir, platform: 'linux', log: createLogger({level: 'error'})})
  })
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close()
    tmp.cleanup()
  })

  async function setup(hostKeys: string[], knownLine: (port: number) => string, extraConfig = ''): Promise<string> {
    const srv = await keyServer(hostKeys)
    servers.push(srv)
    const kh = path.join(tmp.dir, 'known_hosts')
    fs.writeFileSync(kh, knownLine(srv.port) + '\n')
    const cfg = path.join(tmp.dir, 'ssh_config')
    fs.writeFileSync(cfg, `Host mac\n  HostName 127.0.0.1\n  Port ${srv.port}\n  UserKnownHostsFile ${kh}\n${extraConfig}`)
    return cfg
  }

  it('a host known only by its ecdsa key (ssh2 asks for ed25519 first) is trusted', async () => {
    const cfg = await setup([ed, ecdsa], (port) => `[127.0.0.1]:${port} ${publicLine(ecdsa)}`)
    const r = await hostKeyState(ctx, 'bot@mac', {sshConfigFile: cfg})
    expect(r.state, r.message).to.equal('trusted')
    expect(r.fingerprint).to.equal(hostKeyFromPublicLine(publicLine(ecdsa)).fingerprint)
  })

  it('a different ecdsa key on record is a mismatch, not "unknown"', async () => {
    const cfg = await setup([ed, ecdsa], (port) => `[127.0.0.1]:${port} ${publicLine(ecdsaOther)}`)
    const r = await hostKeyState(ctx, 'bot@mac', {sshConfigFile: cfg})
    expect(r.state, r.message).to.equal('mismatch')
  })

  it('HostKeyAlias: connects to HostName and looks the key up under the bare alias, as ssh does', async () => {
    const cfg = await setup([ed], () => `mac-key-alias ${publicLine(ed)}`, '  HostKeyAlias mac-key-alias\n')
    const r = await hostKeyState(ctx, 'bot@mac', {sshConfigFile: cfg})
    expect(r.state, r.message).to.equal('trusted')
  })

  it('a key in the GlobalKnownHostsFile (managed Macs) is trusted, as ssh trusts it', async () => {
    const cfg = await setup([ed], (port) => `[127.0.0.1]:${port} ${publicLine(ed)}`)
    const global = path.join(tmp.dir, 'ssh_known_hosts')
    fs.renameSync(path.join(tmp.dir, 'known_hosts'), global)
    fs.writeFileSync(path.join(tmp.dir, 'known_hosts'), '')
    fs.appendFileSync(cfg, `  GlobalKnownHostsFile ${global}\n`)
    const r = await hostKeyState(ctx, 'bot@mac', {sshConfigFile: cfg})
    expect(r.state, r.message).to.equal('trusted')
  })

  it('a host that no longer offers the known key type is a mismatch (ssh refuses it too)', async () => {
    const cfg = await setup([ed], (port) => `[127.0.0.1]:${port} ${publicLine(ecdsa)}`)
    const r = await hostKeyState(ctx, 'bot@mac', {sshConfigFile: cfg})
    expect(r.state, r.message).to.equal('mismatch')
    expect(r.message).to.include(hostKeyFromPublicLine(publicLine(ecdsa)).fingerprint)
  })
})
