import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {createContext, type Context} from '../../../src/lib/context.js'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {configSchema} from '../../../src/lib/config/schema.js'
import {createLogger} from '../../../src/lib/log.js'
import {diagnoseAccount} from '../../../src/lib/permissions/doctor.js'
import type {DoctorReport} from '../../../src/lib/permissions/report.js'
import {renderPlist} from '../../../src/lib/service/launchd.js'
import {buildServiceSpec, DEFAULT_LABEL} from '../../../src/lib/service/spec.js'
import {IMSG_SIM, REPO_ROOT, tempDir} from '../../helpers/cli.js'

/** With the gateway run by the LaunchAgent, the doctor names the binary in its ProgramArguments. */
describe('permissions doctor: the gateway runs as the LaunchAgent', function () {
  this.timeout(60_000)
  let tmp: ReturnType<typeof tempDir>
  let ctx: Context
  let db: string
  const program = '/opt/homebrew/bin/node'

  beforeEach(async () => {
    tmp = tempDir('rc-doctor-svc-')
    db = path.join(tmp.dir, 'chat.db')
    await execa(IMSG_SIM, ['init', '--db', db])
    ctx = createContext({
      env: {...process.env, HOME: tmp.dir, TERM_PROGRAM: 'Apple_Terminal'},
      home: tmp.dir,
      stateDir: path.join(tmp.dir, '.remoteclaw'),
      configPath: path.join(tmp.dir, '.remoteclaw', 'remoteclaw.json'),
      platform: 'darwin',
      log: createLogger({level: 'error', write: () => {}}),
    })
    // The plist `gateway install` writes, with a Homebrew node as its program.
    const spec = await buildServiceSpec(ctx, {entry: path.join(REPO_ROOT, 'bin', 'run.js'), execPath: process.execPath, kind: 'launchd'})
    spec.programArguments[0] = program
    const file = path.join(tmp.dir, 'Library', 'LaunchAgents', `${DEFAULT_LABEL}.plist`)
    fs.mkdirSync(path.dirname(file), {recursive: true})
    fs.writeFileSync(file, renderPlist(spec))
  })
  afterEach(() => tmp.cleanup())

  async function doctor(env: Record<string, string>, sendTest?: string): Promise<DoctorReport> {
    const c = {...ctx, env: {...ctx.env, ...env}}
    const config = configSchema.parse({channels: {imessage: {cliPath: IMSG_SIM, dbPath: db, groupPolicy: 'disabled', pairingReply: 'silent'}}})
    return diagnoseAccount(c, config, resolveAccount(config, undefined, c), {sendTest, timeoutMs: 15_000})
  }
  const check = (r: DoctorReport, id: string) => r.checks.find((x) => x.id === id)!

  it('Full Disk Access missing: the fix names the LaunchAgent program first, not Terminal', async () => {
    const r = await doctor({IMSG_SIM_FDA: 'missing'})
    const fda = check(r, 'full_disk_access')
    expect(fda.status).to.equal('fail')
    expect(fda.message).to.include(`the gateway runs as the LaunchAgent ${DEFAULT_LABEL}, so ${program} needs the grant`)
    expect(fda.fix).to.match(new RegExp(`Full Disk Access: add ${program.replace(/\//g, '\\/')} \\(the program the LaunchAgent ${DEFAULT_LABEL.replace(/\./g, '\\.')} runs`))
    expect(fda.fix).to.not.include('Terminal.app when you run')
  })

  it('Automation: denied names the program; untested says which binary will need it; a pass in Terminal says the LaunchAgent needs its own grant', async () => {
    const denied = await doctor({IMSG_SIM_AUTOMATION: 'denied'}, '+15555550123')
    const a = check(denied, 'automation')
    expect(a.status).to.equal('fail')
    expect(a.message).to.include(`so ${program} needs the grant`)
    expect(a.fix).to.include(`Automation → ${program} (the program the LaunchAgent`)
    const untested = await doctor({})
    expect(check(untested, 'automation').message).to.include(`the LaunchAgent's program ${program} is what needs Automation for Messages`)
    expect(check(untested, 'full_disk_access').status).to.equal('pass')
    expect(check(untested, 'full_disk_access').message).to.include(`whose program ${program} needs its own grant`)
  })

  it('without an installed plist, the lines stay as before (Terminal first)', async () => {
    fs.rmSync(path.join(tmp.dir, 'Library'), {recursive: true})
    const r = await doctor({IMSG_SIM_FDA: 'missing'})
    expect(check(r, 'full_disk_access').fix).to.include('Terminal.app when you run')
    expect(check(r, 'full_disk_access').message).to.not.include('LaunchAgent')
  })
})
