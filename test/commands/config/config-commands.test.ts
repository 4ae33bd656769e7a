import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {REPO_ROOT, tempDir} from '../../helpers/cli.js'

/**
 * In-process command tests through @oclif/test. The commands build their Context from
 * process.env, so each test points HOME and REMOTECLAW_STATE_DIR at a temp dir.
 * BaseCommand.catch() sets process.exitCode on failure: read it, then reset it.
 */
describe('config commands (@oclif/test runCommand)', () => {
  let t: ReturnType<typeof tempDir>
  const saved: Record<string, string | undefined> = {}
  const file = () => path.join(t.dir, 'remoteclaw.json')
  const run = async (args: string[]) => {
    const r = await runCommand(args, {root: REPO_ROOT})
    const exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0
    process.exitCode = 0
    return {...r, exitCode}
  }

  beforeEach(() => {
    t = tempDir()
    for (const k of ['HOME', 'REMOTECLAW_STATE_DIR', 'REMOTECLAW_CONFIG_PATH', 'NO_COLOR']) saved[k] = process.env[k]
    process.env.HOME = t.dir
    process.env.REMOTECLAW_STATE_DIR = t.dir
    delete process.env.REMOTECLAW_CONFIG_PATH
    process.env.NO_COLOR = '1'
  })
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    process.exitCode = 0
    t.cleanup()
  })

  it('config set then get, with a phone number kept as a string', async () => {
    const set = await run(['config', 'set', 'channels.imessage.allowFrom[0]', '+15551234567'])
    expect(set.exitCode).to.equal(0)
    expect(set.stdout).to.contain('Set channels.imessage.allowFrom[0] = "+15551234567"')
    const get = await run(['config', 'get', 'channels.imessage.allowFrom', '--json'])
    expect(JSON.parse(get.stdout)).to.deep.equal({path: 'channels.imessage.allowFrom', value: ['+15551234567']})
    const scalar = await run(['config', 'get', 'channels.imessage.allowFrom[0]'])
    expect(scalar.stdout).to.equal('+15551234567\n')
  })

  it('--json shapes of set, unset and validate are stable (documented in docs/configuration.md)', async () => {
    const set = await run(['config', 'set', 'channels.imessage.groups["42"]', '{}', '--json'])
    const setDoc = JSON.parse(set.stdout)
    expect(Object.keys(setDoc).sort()).to.deep.equal(['changed', 'diff', 'dryRun', 'file', 'path', 'value'])
    expect(setDoc).to.include({path: 'channels.imessage.groups["42"]', changed: true, dryRun: false, file: file()})
    const again = JSON.parse((await run(['config', 'set', 'channels.imessage.groups["42"]', '{}', '--json'])).stdout)
    expect(again.backup).to.equal(undefined) // unchanged: nothing written, no backup
    expect(again.changed).to.equal(false)
    const unset = JSON.parse((await run(['config', 'unset', 'channels.imessage.groups["42"]', '--json'])).stdout)
    expect(Object.keys(unset).sort()).to.deep.equal(['backup', 'changed', 'diff', 'dryRun', 'file', 'path', 'previous'])
    expect(unset.previous).to.deep.equal({})
    expect(unset.changed).to.equal(true)
    expect(unset.backup).to.equal(`${file()}.bak`)
    const v = JSON.parse((await run(['config', 'validate', '--json'])).stdout)
    expect(Object.keys(v).sort()).to.deep.equal(['errors', 'exists', 'path', 'valid', 'warnings'])
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8').replaceAll(/\s+/g, ' ')
    expect(doc).to.contain('`set`/`unset`: `{"path", "value"|"previous", "file", "changed", "dryRun", "diff", "backup"}`')
    expect(doc).to.contain('`validate`: `{"path", "exists", "valid", "errors", "warnings"}`')
  })

  it('config get of a missing path exits 4 (also under --json)', async () => {
    const r = await run(['config', 'get', 'channels.imessage.mediaMaxMb'])
    expect(r.exitCode).to.equal(4)
    expect(r.stderr).to.contain('not set').and.contain('default: 16')
    const j = await run(['config', 'get', 'channels.imessage.mediaMaxMb', '--json'])
    expect(j.exitCode).to.equal(4)
    expect(JSON.parse(j.stdout).error.code).to.equal('config_path_not_found')
  })

  it('config get with no file prints the empty config', async () => {
    const r = await run(['config', 'get', '--json'])
    expect(r.exitCode).to.equal(0)
    expect(JSON.parse(r.stdout)).to.deep.equal({path: '', value: {}})
  })

  it('config set refuses an invalid result with exit 2 and the fix, leaving the file byte-identical', async () => {
    fs.writeFileSync(file(), '// mine\n{channels: {imessage: {allowFrom: ["+1555"]}}}\n')
    const before = fs.readFileSync(file())
    const r = await run(['config', 'set', 'channels.imessage.dmPolicy', 'open'])
    expect(r.exitCode).to.equal(2)
    expect(r.stderr).to.contain('needs "*"')
    expect(r.stderr).to.contain(`remoteclaw config set channels.imessage.allowFrom '["*"]'`)
    expect(fs.readFileSync(file()).equals(before)).to.equal(true)
  })

  it('config set --dry-run prints a diff and writes nothing', async () => {
    const r = await run(['config', 'set', 'channels.imessage.enabled', 'true', '--dry-run'])
    expect(r.exitCode).to.equal(0)
    expect(r.stdout).to.contain('+      enabled: true,')
    expect(fs.existsSync(file())).to.equal(false)
  })

  it('config set refuses __proto__ with exit 2', async () => {
    const r = await run(['config', 'set', 'a.__proto__.b', '1'])
    expect(r.exitCode).to.equal(2)
    expect(r.stderr).to.contain('reserved key "__proto__"')
  })

  it('config validate: exit 7 listing every error, exit 0 with warnings on stderr', async () => {
    fs.writeFileSync(file(), '{\n  channels: {imessage: {dmpolicy: "open", region: 7}},\n  agents: {list: [{id: "a", groupChat: {mentionPatterns: ["("]}}]},\n}\n')
    const bad = await run(['config', 'validate'])
    expect(bad.exitCode).to.equal(7)
    expect(bad.stderr).to.contain(`${file()}:2:25: channels.imessage.dmpolicy: unknown key "dmpolicy" (did you mean "dmPolicy"?)`)
    expect(bad.stderr).to.contain('channels.imessage.region')
    expect(bad.stderr).to.contain('agents.list[0].groupChat.mentionPatterns[0]')
    const json = await run(['config', 'validate', '--json'])
    expect(json.exitCode).to.equal(7)
    expect(JSON.parse(json.stdout).error.details.errors).to.have.length(3)

    fs.writeFileSync(file(), '{imessage: {groupPolicy: "allowlist"}}\n')
    const warn = await run(['config', 'validate'])
    expect(warn.exitCode).to.equal(0)
    expect(warn.stdout).to.contain('is valid (2 warnings)')
    expect(warn.stderr).to.contain('remoteclaw config migrate')
    expect(warn.stderr).to.contain('every group message will be ignored')
  })

  it('config unset removes a key and exits 4 for a missing one', async () => {
    fs.writeFileSync(file(), '{\n  channels: {\n    imessage: {\n      enabled: true, // keep me\n      dbPath: "~/chat.db",\n    },\n  },\n}\n')
    const r = await run(['config', 'unset', 'channels.imessage.dbPath'])
    expect(r.exitCode).to.equal(0)
    expect(fs.readFileSync(file(), 'utf8')).to.equal('{\n  channels: {\n    imessage: {\n      enabled: true, // keep me\n    },\n  },\n}\n')
    const again = await run(['config', 'unset', 'channels.imessage.dbPath'])
    expect(again.exitCode).to.equal(4)
  })

  it('config migrate moves the legacy block and reports when there is nothing to do', async () => {
    fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'legacy.json5'), file())
    const dry = await run(['config', 'migrate', '--dry-run'])
    expect(dry.stdout).to.contain('+  channels: {')
    const r = await run(['config', 'migrate'])
    expect(r.exitCode).to.equal(0)
    expect(fs.readFileSync(file(), 'utf8')).to.contain('    imessage: {').and.contain('// the family chat')
    const none = await run(['config', 'migrate'])
    expect(none.stdout).to.contain('Nothing to migrate')
  })
})
