import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {runCli, tempDir} from '../helpers/cli.js'

/**
 * bin/run.js compiles the bundle with V8's code cache kept in <stateDir>/cache
 * (src/cli/code-cache.ts). Through the built CLI: where the cache goes and with which modes,
 * that a hit leaves it alone, that each new command grows it, and that a bad cache or a folder
 * others can write never breaks a command.
 */
describe('code cache (built CLI as a child process)', function () {
  this.timeout(120_000)
  let t: ReturnType<typeof tempDir>
  const cacheDir = () => path.join(t.dir, 'cache')
  const cacheFiles = () => (fs.existsSync(cacheDir()) ? fs.readdirSync(cacheDir()).filter((f) => f.endsWith('.v8')) : [])
  const commandsOf = (f: string) => fs.readFileSync(path.join(cacheDir(), `${f}.commands`), 'utf8').split('\n')
  const configGet = async (env: Record<string, string | undefined> = {}) => {
    const r = await runCli(['config', 'get', 'channels.imessage.dmPolicy'], {stateDir: t.dir, env})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout.trim()).to.equal('open')
  }

  beforeEach(() => {
    t = tempDir()
    fs.writeFileSync(path.join(t.dir, 'remoteclaw.json'), JSON.stringify({channels: {imessage: {dmPolicy: 'open', allowFrom: ['*']}}}))
  })
  afterEach(() => t.cleanup())

  it('is written by the first run, 0600 in a 0700 folder of the state dir, and left alone by a second run', async () => {
    await configGet()
    const [file] = cacheFiles()
    expect(file, 'one cache file').to.match(/^cli-v\d+\.\d+\.\d+-\w+-\d+-\d+\.v8$/)
    expect(fs.statSync(cacheDir()).mode & 0o777).to.equal(0o700)
    const st = fs.statSync(path.join(cacheDir(), file!))
    expect(st.mode & 0o777).to.equal(0o600)
    expect(st.size).to.be.greaterThan(100_000)
    expect(commandsOf(file!)).to.deep.equal(['config get'])

    await configGet()
    const again = fs.statSync(path.join(cacheDir(), file!))
    expect(again.mtimeMs, 'a hit does not rewrite the cache').to.equal(st.mtimeMs)
    expect(again.ino).to.equal(st.ino)
  })

  it('grows with each other command, once', async () => {
    await configGet()
    const [file] = cacheFiles()
    const before = fs.statSync(path.join(cacheDir(), file!))
    const r = await runCli(['pairing', 'list', 'imessage', '--json'], {stateDir: t.dir})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(cacheFiles()).to.deep.equal([file])
    expect(commandsOf(file!)).to.deep.equal(['config get', 'pairing list'])
    const after = fs.statSync(path.join(cacheDir(), file!))
    expect(after.ino, 'rewritten (renamed into place)').to.not.equal(before.ino)
    await runCli(['pairing', 'list', 'imessage', '--json'], {stateDir: t.dir})
    expect(fs.statSync(path.join(cacheDir(), file!)).ino, 'not rewritten for a covered command').to.equal(after.ino)
  })

  it('a corrupt cache is rejected by V8: the command works and the cache is rewritten', async () => {
    await configGet()
    const [file] = cacheFiles()
    const p = path.join(cacheDir(), file!)
    const garbage = Buffer.alloc(fs.statSync(p).size, 0x5a)
    fs.writeFileSync(p, garbage)
    await configGet()
    expect(fs.readFileSync(p).equals(garbage)).to.equal(false)
    await configGet()
  })

  it('REMOTECLAW_CODE_CACHE=off, a missing state dir or a folder others can write: no cache, the command still works', async () => {
    await configGet({REMOTECLAW_CODE_CACHE: 'off'})
    expect(fs.existsSync(cacheDir())).to.equal(false)

    const elsewhere = path.join(t.dir, 'not-yet')
    const r = await runCli(['--version'], {stateDir: elsewhere})
    expect(r.exitCode).to.equal(0)
    expect(fs.existsSync(elsewhere), 'the cache does not create the state dir').to.equal(false)

    fs.mkdirSync(cacheDir(), {mode: 0o700})
    fs.chmodSync(cacheDir(), 0o777)
    await configGet()
    expect(cacheFiles()).to.deep.equal([])
  })
})
