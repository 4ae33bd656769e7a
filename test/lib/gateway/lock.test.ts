import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {createContext} from '../../../src/lib/context.js'
import {acquireGatewayLock, gatewayLockPath, GatewayLockedError, processStartOf} from '../../../src/lib/gateway/lock.js'
import {tempDir} from '../../helpers/cli.js'

describe('gateway lock', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeEach(() => {
    tmp = tempDir('rc-lock-')
  })
  afterEach(() => tmp.cleanup())
  const ctx = () => createContext({stateDir: tmp.dir, home: tmp.dir, env: {}})

  it('refuses while a live process holds it, naming the pid; release frees it', async () => {
    const sleeper = execa('sleep', ['30'], {reject: false})
    try {
      const c = ctx()
      fs.mkdirSync(path.dirname(gatewayLockPath(tmp.dir)), {recursive: true})
      const start = await processStartOf(sleeper.pid!, c)
      fs.writeFileSync(gatewayLockPath(tmp.dir), JSON.stringify({schemaVersion: 1, pid: sleeper.pid, startedAt: 'x', processStart: start, stateDir: tmp.dir}))
      let err: unknown
      await acquireGatewayLock(c).catch((error) => (err = error))
      expect(err).to.be.instanceOf(GatewayLockedError)
      expect((err as Error).message).to.include(`pid ${sleeper.pid}`)
      expect((err as GatewayLockedError).exitCode).to.equal(1)
    } finally {
      sleeper.kill()
      await sleeper
    }
    // the holder is gone now: taken over
    const lock = await acquireGatewayLock(ctx())
    expect(lock.tookOverFrom).to.be.a('number')
    expect(JSON.parse(fs.readFileSync(gatewayLockPath(tmp.dir), 'utf8')).pid).to.equal(process.pid)
    expect(fs.statSync(gatewayLockPath(tmp.dir)).mode & 0o777).to.equal(0o600)
    await lock.release()
    expect(fs.existsSync(gatewayLockPath(tmp.dir))).to.equal(false)
  })

  it('a live pid that is another process now (pid reuse: other start time) does not hold it', async () => {
    fs.mkdirSync(path.dirname(gatewayLockPath(tmp.dir)), {recursive: true})
    // pid 1 is alive, but it is not the process that wrote this lock
    fs.writeFileSync(gatewayLockPath(tmp.dir), JSON.stringify({schemaVersion: 1, pid: 1, startedAt: 'x', processStart: 'some other boot:123', stateDir: tmp.dir}))
    const lock = await acquireGatewayLock(ctx())
    expect(lock.tookOverFrom).to.equal(1)
    await lock.release()
  })
})
