import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {appendKnownHost, hostKeyFromPublicLine, knownHostName, lookupHostKey, parseKnownHosts, parseSshG} from '../../../src/lib/ssh/index.js'
import {tempDir} from '../../helpers/cli.js'

async function newKey(dir: string, name: string) {
  const f = path.join(dir, name)
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f])
  return hostKeyFromPublicLine(fs.readFileSync(f + '.pub', 'utf8'))
}

describe('known_hosts', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('names hosts like OpenSSH: bare on 22, [host]:port otherwise', () => {
    expect(knownHostName('mac.local', 22)).to.equal('mac.local')
    expect(knownHostName('mac.local', undefined)).to.equal('mac.local')
    expect(knownHostName('10.0.0.2', 2222)).to.equal('[10.0.0.2]:2222')
  })

  it('reads plain entries with comma lists, wildcards, negation and markers', async () => {
    const a = await newKey(dir, 'a')
    const b = await newKey(dir, 'b')
    const file = path.join(dir, 'known_hosts')
    fs.writeFileSync(
      file,
      [
        '# comment',
        `mac.local,192.168.1.5 ${a.keyType} ${a.keyBase64}`,
        `*.example.com,!evil.example.com ${a.keyType} ${a.keyBase64}`,
        `[mac.local]:2222 ${b.keyType} ${b.keyBase64}`,
        `@revoked old.local ${b.keyType} ${b.keyBase64}`,
        `@cert-authority *.corp ${b.keyType} ${b.keyBase64}`,
        'garbage line',
        '',
      ].join('\n'),
    )
    expect(parseKnownHosts(fs.readFileSync(file, 'utf8'))).to.have.length(5)
    expect(await lookupHostKey(file, 'mac.local', 22, a)).to.equal('match')
    expect(await lookupHostKey(file, '192.168.1.5', 22, a)).to.equal('match')
    expect(await lookupHostKey(file, 'mac.local', 22, b)).to.equal('mismatch')
    expect(await lookupHostKey(file, 'mac.local', 2222, b)).to.equal('match')
    expect(await lookupHostKey(file, 'mac.local', 2222, a)).to.equal('mismatch')
    expect(await lookupHostKey(file, 'www.example.com', 22, a)).to.equal('match')
    expect(await lookupHostKey(file, 'evil.example.com', 22, a)).to.equal('unknown')
    expect(await lookupHostKey(file, 'old.local', 22, b)).to.equal('revoked')
    expect(await lookupHostKey(file, 'x.corp', 22, b)).to.equal('unknown')
    expect(await lookupHostKey(path.join(dir, 'absent'), 'mac.local', 22, a)).to.equal('unknown')
  })

  it('reads entries hashed by ssh-keygen -H, and ssh-keygen -F finds our hashed entries', async () => {
    const a = await newKey(dir, 'a')
    const b = await newKey(dir, 'b')
    const file = path.join(dir, 'known_hosts')
    fs.writeFileSync(file, `mac.local ${a.keyType} ${a.keyBase64}\n[10.0.0.2]:2222 ${a.keyType} ${a.keyBase64}\n`)
    await execa('ssh-keygen', ['-q', '-H', '-f', file])
    expect(fs.readFileSync(file, 'utf8')).not.to.include('mac.local')
    expect(await lookupHostKey(file, 'mac.local', 22, a)).to.equal('match')
    expect(await lookupHostKey(file, '10.0.0.2', 2222, a)).to.equal('match')
    expect(await lookupHostKey(file, '10.0.0.2', 2222, b)).to.equal('mismatch')
    expect(await lookupHostKey(file, '10.0.0.2', 22, a)).to.equal('unknown')

    const mine = path.join(dir, 'kh2')
    await appendKnownHost(mine, 'mini.tailnet-1.ts.net', 22, b, {hashed: true})
    await appendKnownHost(mine, '10.0.0.9', 2200, b, {hashed: false})
    expect(fs.readFileSync(mine, 'utf8')).not.to.include('mini.tailnet')
    expect((await execa('ssh-keygen', ['-F', 'mini.tailnet-1.ts.net', '-f', mine], {reject: false})).exitCode).to.equal(0)
    expect((await execa('ssh-keygen', ['-F', '[10.0.0.9]:2200', '-f', mine], {reject: false})).exitCode).to.equal(0)
    expect((await execa('ssh-keygen', ['-F', 'other.host', '-f', mine], {reject: false})).exitCode).not.to.equal(0)
  })

  it('appends after a file without a trailing newline and never rewrites existing lines', async () => {
    const a = await newKey(dir, 'a')
    const b = await newKey(dir, 'b')
    const file = path.join(dir, 'known_hosts')
    fs.writeFileSync(file, `other.host ${a.keyType} ${a.keyBase64}`)
    await appendKnownHost(file, 'mac.local', 22, b)
    const lines = fs.readFileSync(file, 'utf8').split('\n')
    expect(lines[0]).to.equal(`other.host ${a.keyType} ${a.keyBase64}`)
    expect(lines[1]).to.equal(`mac.local ${b.keyType} ${b.keyBase64}`)
    const err = await appendKnownHost(file, 'mac.local', 22, a).catch((e: Error & {fix?: string}) => e)
    expect((err as Error).message).to.match(/does not match known_hosts/).and.include(a.fingerprint)
    expect((err as {fix: string}).fix).to.include('ssh-keygen -R')
    expect(fs.readFileSync(file, 'utf8').split('\n')).to.deep.equal(lines)
  })

  it('parses ssh -G output', () => {
    const c = parseSshG('host mac\nhostname 10.0.0.2\nport 2222\nuser bot\nhashknownhosts yes\nuserknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2\nidentityfile ~/.ssh/id_rsa\nidentityfile ~/.ssh/id_ed25519\n', '/home/u')
    expect(c).to.include({hostname: '10.0.0.2', port: 2222, user: 'bot', hashKnownHosts: true})
    expect(c.userKnownHostsFiles).to.deep.equal(['/home/u/.ssh/known_hosts', '/home/u/.ssh/known_hosts2'])
    expect(c.raw.identityfile).to.have.length(2)
  })
})
