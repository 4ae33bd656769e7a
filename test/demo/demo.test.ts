import {expect} from 'chai'
import {execa} from 'execa'
import path from 'node:path'
import {REPO_ROOT} from '../helpers/cli.js'

describe('npm run demo (dist/demo/main.js)', function () {
  this.timeout(90_000)

  it('runs pairing, approval, an agent reply and group mention gating on the simulator and exits 0', async () => {
    const r = await execa(process.execPath, [path.join(REPO_ROOT, 'dist', 'demo', 'main.js')], {reject: false, env: {NO_COLOR: '1'}})
    expect(r.exitCode, String(r.stdout)).to.equal(0)
    const out = String(r.stdout)
    expect(out).to.match(/pairing code: [A-Z2-9]{8}/)
    expect(out).to.contain('remoteclaw pairing approve imessage')
    expect(out).to.contain('bot → Ana: "You said: What can you do?"')
    expect(out).to.contain('not addressed to the bot')
    expect(out).to.contain('demo passed')
  })
})
