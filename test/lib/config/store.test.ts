import {expect} from 'chai'
import fc from 'fast-check'
import fs from 'node:fs'
import path from 'node:path'
import JSON5 from 'json5'
import {checkConfigFile, ConfigInvalidError, loadConfig} from '../../../src/lib/config/load.js'
import {migrateConfig} from '../../../src/lib/config/migrate.js'
import {formatPath} from '../../../src/lib/config/paths.js'
import {editConfig, getConfigValue, setConfigValue, unsetConfigValue, updateConfig} from '../../../src/lib/config/store.js'
import {NotFoundError, RemoteclawError, UsageError} from '../../../src/lib/errors.js'
import {REPO_ROOT, tempDir} from '../../helpers/cli.js'

const COMMENTED = `// my bot config (hand-written)
{
  /* channel first */
  channels: {
    imessage: {
      enabled: true,
      cliPath: "~/bin/imsg-bot", // SSH wrapper
      dmPolicy: 'pairing',
      groups: {
        "42": { requireMention: true }, // family
      },
    },
  },
  // agents last
  agents: { list: [{ id: "main", default: true }] },
}
`

const mode = (p: string) => fs.statSync(p).mode & 0o777

async function rejection(p: Promise<unknown>): Promise<RemoteclawError> {
  try {
    await p
  } catch (error) {
    expect(error).to.be.instanceOf(RemoteclawError)
    return error as RemoteclawError
  }
  expect.fail('expected a rejection')
}

describe('config store (lossless, validated, atomic writes)', () => {
  let t: ReturnType<typeof tempDir>
  let ctx: {configPath: string; home: string}
  beforeEach(() => {
    t = tempDir()
    ctx = {configPath: path.join(t.dir, 'state', 'remoteclaw.json'), home: t.dir}
  })
  afterEach(() => t.cleanup())
  const write = (text: string, m = 0o600) => {
    fs.mkdirSync(path.dirname(ctx.configPath), {recursive: true})
    fs.writeFileSync(ctx.configPath, text, {mode: m})
    fs.chmodSync(ctx.configPath, m)
  }
  const read = () => fs.readFileSync(ctx.configPath, 'utf8')

  it('creates a missing file (0600) in a 0700 state dir, formatted', async () => {
    const r = await setConfigValue(ctx, 'channels.imessage.enabled', 'true')
    expect(r.changed).to.equal(true)
    expect(r.backupPath).to.equal(undefined)
    expect(read()).to.equal('{\n  channels: {\n    imessage: {\n      enabled: true,\n    },\n  },\n}\n')
    expect(mode(ctx.configPath)).to.equal(0o600)
    expect(mode(path.dirname(ctx.configPath))).to.equal(0o700)
  })

  it('keeps a phone number, digits and true a string where the schema wants a string', async () => {
    await setConfigValue(ctx, 'channels.imessage.allowFrom[0]', '+15551234567')
    await setConfigValue(ctx, 'channels.imessage.allowFrom[1]', '42')
    await setConfigValue(ctx, 'channels.imessage.region', 'gb')
    await setConfigValue(ctx, 'messages.responsePrefix', '"[bot] "')
    await setConfigValue(ctx, 'channels.imessage.textChunkLimit', '1200')
    await setConfigValue(ctx, 'channels.imessage.includeAttachments', 'true')
    const {config} = await loadConfig(ctx)
    expect(config.channels!.imessage!.allowFrom).to.deep.equal(['+15551234567', '42'])
    expect(config.channels!.imessage!.region).to.equal('gb')
    expect(config.messages!.responsePrefix).to.equal('[bot] ')
    expect(config.channels!.imessage!.textChunkLimit).to.equal(1200)
    expect(config.channels!.imessage!.includeAttachments).to.equal(true)
    expect(read()).to.contain('"+15551234567"')
  })

  it('--strict-json requires JSON', async () => {
    const e = await rejection(setConfigValue(ctx, 'messages.responsePrefix', 'hi', {strictJson: true}))
    expect(e.exitCode).to.equal(2)
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
    await setConfigValue(ctx, 'messages.responsePrefix', '"hi"', {strictJson: true})
    expect((await getConfigValue(ctx, 'messages.responsePrefix')).value).to.equal('hi')
  })

  it('keeps comments, key order, quoting and formatting on set and unset', async () => {
    write(COMMENTED)
    await setConfigValue(ctx, 'channels.imessage.dmPolicy', 'allowlist')
    expect(read()).to.equal(COMMENTED.replace("dmPolicy: 'pairing'", "dmPolicy: 'allowlist'"))
    await setConfigValue(ctx, 'channels.imessage.groups["7"]', '{requireMention: false}')
    await unsetConfigValue(ctx, 'channels.imessage.groups["7"]')
    await unsetConfigValue(ctx, 'channels.imessage.dmPolicy')
    const after = read()
    for (const keep of ['// my bot config (hand-written)', '/* channel first */', '// SSH wrapper', '// family', '// agents last', '{ id: "main", default: true }']) {
      expect(after).to.contain(keep)
    }
    expect(after).not.to.contain('dmPolicy')
    expect(after.indexOf('channels')).to.be.lessThan(after.indexOf('agents'))
    expect(after).to.contain('      cliPath: "~/bin/imsg-bot", // SSH wrapper\n')
  })

  it('new keys follow the file style: unquoted in an unquoted file, quoted in a JSON file', async () => {
    write(COMMENTED)
    await setConfigValue(ctx, 'channels.imessage.accounts.bot', '{cliPath: "/x", groups: {"7": {}}}')
    expect(read()).to.match(/ {6}accounts: \{\n {8}bot: \{\n {10}cliPath: ['"]\/x['"],/)
    write('{\n  "channels": {\n    "imessage": {\n      "enabled": true\n    }\n  }\n}\n')
    await setConfigValue(ctx, 'channels.imessage.region', 'GB')
    const text = read()
    expect(text).to.contain('"region": "GB"')
    expect(JSON.parse(text)).to.deep.equal({channels: {imessage: {enabled: true, region: 'GB'}}})
  })

  it('a scalar where a list belongs is refused with a hint on list syntax', async () => {
    const e = await rejection(setConfigValue(ctx, 'channels.imessage.allowFrom', '+15551234567'))
    expect(e.exitCode).to.equal(2)
    expect(e.fix).to.contain(`'["a", "b"]'`).and.contain('channels.imessage.allowFrom[0]')
  })

  it('creates intermediate objects and arrays, appends at index == length, refuses beyond', async () => {
    write(COMMENTED)
    await setConfigValue(ctx, 'agents.list[1]', '{id: "helper"}')
    await setConfigValue(ctx, 'agents.list[1].groupChat.mentionPatterns[0]', '@helper')
    await setConfigValue(ctx, 'channels.imessage.accounts.bot.cliPath', '/usr/local/bin/imsg')
    const {config} = await loadConfig(ctx)
    expect(config.agents!.list![1]).to.deep.equal({id: 'helper', groupChat: {mentionPatterns: ['@helper']}})
    expect(config.channels!.imessage!.accounts!.bot!.cliPath).to.equal('/usr/local/bin/imsg')
    const e = await rejection(setConfigValue(ctx, 'agents.list[5].id', 'x'))
    expect(e.exitCode).to.equal(2)
    expect(e.fix).to.contain('index 2 to append')
  })

  it('an invalid result exits 2 with the reason and leaves the file byte-identical (no backup)', async () => {
    write(COMMENTED, 0o644)
    const before = fs.readFileSync(ctx.configPath)
    const e = await rejection(setConfigValue(ctx, 'channels.imessage.dmPolicy', 'open'))
    expect(e).to.be.instanceOf(UsageError)
    expect(e.exitCode).to.equal(2)
    expect(e.message).to.contain('needs "*"')
    expect(e.fix).to.contain(`remoteclaw config set channels.imessage.allowFrom '["*"]'`)
    expect(fs.readFileSync(ctx.configPath).equals(before)).to.equal(true)
    expect(mode(ctx.configPath)).to.equal(0o644)
    expect(fs.existsSync(`${ctx.configPath}.bak`)).to.equal(false)
    const e2 = await rejection(setConfigValue(ctx, 'channels.imessage.dmpolicy', 'open'))
    expect(e2.message).to.contain('channels.imessage.dmpolicy is not a config key (did you mean channels.imessage.dmPolicy?)')
    expect((e2 as UsageError).code).to.equal('config_unknown_key')
    expect(fs.readFileSync(ctx.configPath).equals(before)).to.equal(true)
  })

  it('an already-invalid file exits 7 with file:line:col and nothing is written', async () => {
    const broken = '{\n  channels: {\n    imessage: {enabled: tru},\n  },\n}\n'
    write(broken)
    const e = await rejection(setConfigValue(ctx, 'channels.imessage.dmPolicy', 'pairing'))
    expect(e).to.be.instanceOf(ConfigInvalidError)
    expect(e.exitCode).to.equal(7)
    expect(e.message).to.contain(`${ctx.configPath}:3:`)
    expect(read()).to.equal(broken)

    const unknown = '{\n  channels: {imessage: {dmpolicy: "open"}},\n}\n'
    write(unknown)
    const e2 = await rejection(setConfigValue(ctx, 'channels.imessage.enabled', 'true'))
    expect(e2.exitCode).to.equal(7)
    expect(e2.message).to.contain(`${ctx.configPath}:2:25: channels.imessage.dmpolicy`)
    expect(read()).to.equal(unknown)
    // ...but the fix the error suggests is allowed, since it makes the file valid
    await unsetConfigValue(ctx, 'channels.imessage.dmpolicy')
    expect((await loadConfig(ctx)).config).to.deep.equal({channels: {imessage: {}}})
  })

  it('a key written twice in one object is refused for set and unset (JSON5 reads the last one; editing the first would do nothing)', async () => {
    const dup = '{\n  channels: {imessage: {\n    dmPolicy: "open",\n    dmPolicy: "pairing",\n  }},\n}\n'
    write(dup)
    for (const op of [() => setConfigValue(ctx, 'channels.imessage.dmPolicy', 'allowlist'), () => unsetConfigValue(ctx, 'channels.imessage.dmPolicy')]) {
      const e = await rejection(op())
      expect(e.exitCode).to.equal(7)
      expect(e.message).to.contain('channels.imessage.dmPolicy').and.contain('lines 3 and 4')
      expect(read()).to.equal(dup)
    }
    // the file is invalid as a whole (the gateway refuses it too): other edits are refused, naming both lines
    const e = await rejection(setConfigValue(ctx, 'channels.imessage.region', 'GB'))
    expect(e.exitCode).to.equal(7)
    expect(e.message).to.equal(`${ctx.configPath}:3:5: channels.imessage.dmPolicy: is written 2 times (lines 3 and 4); only the last one counts`)
    expect(read()).to.equal(dup)
  })

  it('a duplicate key is reported by validate and refused by load (exit 7), naming both lines, at any depth', async () => {
    const dup = `{\n  channels: {imessage: {cliPath: "/usr/local/bin/imsg"}},\n  agents: {list: [{id: "a", id: "b"}]},\n  channels: {imessage: {dmPolicy: "open", allowFrom: ["*"]}},\n}\n`
    write(dup)
    const check = await checkConfigFile(ctx)
    expect(check.errors.map((x) => `${x.where}: ${x.path}: ${x.message}`)).to.deep.equal([
      `${ctx.configPath}:2:3: channels: is written 2 times (lines 2 and 4); only the last one counts`,
      `${ctx.configPath}:3:20: agents.list[0].id: is written 2 times (lines 3 and 3); only the last one counts`,
    ])
    const e = await rejection(loadConfig(ctx))
    expect(e).to.be.instanceOf(ConfigInvalidError)
    expect(e.exitCode).to.equal(7)
    expect(e.message).to.contain('channels: is written 2 times (lines 2 and 4)')
  })

  it('validate reports a file the editor cannot keep intact (config set refuses it), with line and column', async () => {
    write('{\n  channels: {\\u0069message: {}},\n}\n')
    const check = await checkConfigFile(ctx)
    expect(check.errors.map((x) => `${x.where}: ${x.message}`)).to.deep.equal([`${ctx.configPath}:2:14: remoteclaw cannot edit this file without reformatting it: Unexpected token '\\'`])
    const e = await rejection(setConfigValue(ctx, 'channels.imessage.region', 'GB'))
    expect(e.exitCode).to.equal(7)
    expect(e.message).to.contain(`${ctx.configPath}:2:14: cannot edit this file without reformatting it`)
  })

  it('U+2028/U+2029 in a value are written escaped, so the file stays editable; a file an older version wrote raw is repaired by the next edit', async () => {
    await setConfigValue(ctx, 'channels.imessage.name', '"a\\u2028b\\u2029c"')
    expect(read()).to.not.match(/[\u2028\u2029]/)
    expect(read()).to.contain('"a\\u2028b\\u2029c"')
    expect((await loadConfig(ctx)).config.channels!.imessage!.name).to.equal('a\u2028b\u2029c')
    await setConfigValue(ctx, 'channels.imessage.region', 'GB')
    await unsetConfigValue(ctx, 'channels.imessage.name')
    // keys too
    await setConfigValue(ctx, 'channels.imessage.groups["x\u2028y"]', '{}')
    expect(read()).to.not.match(/[\u2028\u2029]/)
    expect(Object.keys((await loadConfig(ctx)).config.channels!.imessage!.groups!)).to.deep.equal(['x\u2028y'])

    const raw = '{\n  channels: {imessage: {name: "a\u2028b"}}, // note\n}\n'
    write(raw)
    expect((await checkConfigFile(ctx)).errors).to.deep.equal([])
    const r = await setConfigValue(ctx, 'channels.imessage.region', 'GB')
    expect(r.changed).to.equal(true)
    expect(read()).to.equal('{\n  channels: {imessage: {name: "a\\u2028b", region: "GB"}}, // note\n}\n')
  })

  it('never writes text the editor could not edit again (a raw U+2028 from a whole-text edit): exit 1, nothing written', async () => {
    write('{channels: {imessage: {}}}\n')
    const e = await rejection(editConfig(ctx, () => '{channels: {imessage: {name: "a\u2028b"}}}\n'))
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.contain('in a form remoteclaw can edit again')
    expect(read()).to.equal('{channels: {imessage: {}}}\n')
  })

  for (const [value, shown] of [['Infinity', 'Infinity'], ['NaN', 'NaN'], ['1e400', 'Infinity'], ['-Infinity', '-Infinity'], ['{a: [1, NaN]}', 'NaN']] as const) {
    it(`config set ${value}: exit 2 with the reason, the file unchanged`, async () => {
      write('{channels: {imessage: {}}}\n')
      const e = await rejection(setConfigValue(ctx, value.startsWith('{') ? 'channels.imessage.groups' : 'channels.imessage.textChunkLimit', value))
      expect(e).to.be.instanceOf(UsageError)
      expect(e.exitCode).to.equal(2)
      expect(e.message).to.contain(`${shown} is not a number a config file can hold`)
      expect(read()).to.equal('{channels: {imessage: {}}}\n')
    })
  }

  it('a deeply nested value: exit 2 naming the bound (no stack overflow), the file unchanged', async () => {
    write('{channels: {imessage: {}}}\n')
    for (const value of ['['.repeat(100_000) + ']'.repeat(100_000), '{a:'.repeat(5000) + '1' + '}'.repeat(5000), '['.repeat(40) + ']'.repeat(40)]) {
      for (const strictJson of [false, true]) {
        const e = await rejection(setConfigValue(ctx, 'channels.imessage.groups', value.replaceAll('{a:', strictJson ? '{"a":' : '{a:'), {strictJson}))
        expect(e).to.be.instanceOf(UsageError)
        expect(e.message).to.equal('the value for channels.imessage.groups nests more than 32 levels of objects or lists')
      }
    }
    expect(read()).to.equal('{channels: {imessage: {}}}\n')
  })

  it('an invalid file can be repaired one suggested fix at a time (each fix that removes an error and adds none is written)', async () => {
    write('{\n  channels: {imessage: {dmpolicy: "open", allowfrom: ["*"]}},\n}\n')
    // an edit that repairs nothing is still refused
    expect((await rejection(setConfigValue(ctx, 'channels.imessage.enabled', 'true'))).exitCode).to.equal(7)
    const e = await rejection(setConfigValue(ctx, 'channels.imessage.enabled', 'true'))
    expect(e.fix).to.contain('remoteclaw config unset channels.imessage.dmpolicy')
    // the fix the error suggests works, and says what is left
    const r = await unsetConfigValue(ctx, 'channels.imessage.dmpolicy')
    expect(r.changed).to.equal(true)
    expect(r.warnings.join('\n')).to.contain('channels.imessage.allowfrom')
    expect(read()).not.to.contain('dmpolicy')
    await unsetConfigValue(ctx, 'channels.imessage.allowfrom')
    expect((await loadConfig(ctx)).config).to.deep.equal({channels: {imessage: {}}})
  })

  it('a config path whose folder cannot be created is an error with cause and fix, not a bare EEXIST', async () => {
    const blocker = path.join(t.dir, 'afile')
    fs.writeFileSync(blocker, '')
    const e = await rejection(setConfigValue({configPath: path.join(blocker, 'remoteclaw.json'), home: t.dir}, 'channels.imessage.enabled', 'true'))
    expect(e.message).to.contain(blocker)
    expect(e.fix).to.contain('REMOTECLAW_CONFIG_PATH')
  })

  it('writes 0600 over a 0644 file and keeps one 0600 backup of the previous content', async () => {
    write(COMMENTED, 0o644)
    await setConfigValue(ctx, 'channels.imessage.enabled', 'false')
    expect(mode(ctx.configPath)).to.equal(0o600)
    expect(fs.readFileSync(`${ctx.configPath}.bak`, 'utf8')).to.equal(COMMENTED)
    expect(mode(`${ctx.configPath}.bak`)).to.equal(0o600)
    const second = read()
    await setConfigValue(ctx, 'channels.imessage.enabled', 'true')
    expect(fs.readFileSync(`${ctx.configPath}.bak`, 'utf8')).to.equal(second)
    expect(fs.readdirSync(path.dirname(ctx.configPath)).sort()).to.deep.equal(['remoteclaw.json', 'remoteclaw.json.bak'])
  })

  it('dry run returns a unified diff and writes nothing', async () => {
    write(COMMENTED)
    const r = await setConfigValue(ctx, 'channels.imessage.dmPolicy', 'disabled', {dryRun: true})
    expect(r.changed).to.equal(true)
    expect(r.diff).to.contain("-      dmPolicy: 'pairing',")
    expect(r.diff).to.contain("+      dmPolicy: 'disabled',")
    expect(read()).to.equal(COMMENTED)
    expect(fs.existsSync(`${ctx.configPath}.bak`)).to.equal(false)
    // without a file: nothing is created, not even the state dir
    const other = {configPath: path.join(t.dir, 'fresh', 'remoteclaw.json'), home: t.dir}
    const fresh = await setConfigValue(other, 'channels.imessage.enabled', 'true', {dryRun: true})
    expect(fresh.diff).to.contain('+      enabled: true,')
    expect(fs.existsSync(path.dirname(other.configPath))).to.equal(false)
  })

  it('get: whole file, a value, and exit 4 naming the default for a missing path', async () => {
    write(COMMENTED)
    expect((await getConfigValue(ctx)).value).to.have.keys('channels', 'agents')
    expect((await getConfigValue(ctx, 'channels.imessage.groups["42"].requireMention')).value).to.equal(true)
    const e = await rejection(getConfigValue(ctx, 'channels.imessage.mediaMaxMb'))
    expect(e).to.be.instanceOf(NotFoundError)
    expect(e.exitCode).to.equal(4)
    expect(e.message).to.contain('(default: 16)')
    const e2 = await rejection(unsetConfigValue(ctx, 'channels.imessage.nope'))
    expect(e2.exitCode).to.equal(4)
  })

  it('refuses __proto__ paths with exit 2', async () => {
    const e = await rejection(setConfigValue(ctx, 'channels.__proto__.polluted', 'true'))
    expect(e.exitCode).to.equal(2)
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined)
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
  })

  it('updateConfig gives mutations get/set/unset and reports changed=false for no-ops', async () => {
    write(COMMENTED)
    const r = await updateConfig(ctx, (doc) => {
      expect(doc.get('channels.imessage.cliPath')).to.equal('~/bin/imsg-bot')
      expect(doc.get(['agents', 'list', 0, 'id'])).to.equal('main')
      expect(doc.unset('channels.imessage.nothing')).to.equal(false)
    })
    expect(r.changed).to.equal(false)
    expect(r.diff).to.equal('')
  })

  it('property: set then get returns the value, and the rest of the file is untouched', async function () {
    this.timeout(60_000)
    write(COMMENTED)
    const key = fc.string({minLength: 1, maxLength: 8}).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k))
    const value = fc.oneof(fc.string({maxLength: 20}), fc.boolean(), fc.integer({min: 0, max: 1e6}))
    await fc.assert(
      fc.asyncProperty(key, value, async (chatId, v) => {
        // agents.list[0].env is a free map of strings; groups["<id>"].responsePrefix a string
        const envPath = formatPath(['agents', 'list', 0, 'env', chatId])
        await setConfigValue(ctx, envPath, typeof v === 'string' ? JSON.stringify(v) : String(v))
        const got = (await getConfigValue(ctx, envPath)).value
        expect(got).to.equal(typeof v === 'string' ? v : String(v))
        const text = read()
        expect(text).to.contain('// SSH wrapper')
        expect(text).to.contain('// family')
        await unsetConfigValue(ctx, envPath)
      }),
      {numRuns: 40},
    )
  })

  it('property: any text set where the schema wants a string reads back unchanged (numbers, +phones, true)', async function () {
    this.timeout(60_000)
    const isJson5String = (raw: string) => {
      try {
        return typeof JSON5.parse(raw) === 'string'
      } catch {
        return false
      }
    }
    const text = fc.oneof(
      fc.string({maxLength: 24}),
      fc.integer().map((n) => `+${Math.abs(n)}`),
      fc.constantFrom('42', 'true', 'null', '1e3', '0x10', '[1]', '{a: 1}', ' 7 '),
    )
    await fc.assert(
      fc.asyncProperty(text.filter((s) => !isJson5String(s)), async (raw) => {
        await setConfigValue(ctx, 'messages.responsePrefix', raw)
        expect((await getConfigValue(ctx, 'messages.responsePrefix')).value).to.equal(raw)
      }),
      {numRuns: 60},
    )
  })

  it('migrate moves the legacy layout under channels.imessage, keeping comments', async () => {
    const legacy = fs.readFileSync(path.join(REPO_ROOT, 'examples', 'legacy.json5'), 'utf8')
    write(legacy)
    const before = (await loadConfig(ctx)).config.imessage
    const dry = await migrateConfig(ctx, {dryRun: true})
    expect(dry.migrated).to.equal(true)
    expect(read()).to.equal(legacy)
    const r = await migrateConfig(ctx)
    expect(r.migrated).to.equal(true)
    const after = read()
    for (const line of legacy.split('\n').filter((l) => l.includes('//'))) expect(after).to.contain(line.trim())
    const loaded = await loadConfig(ctx)
    expect(loaded.config.imessage).to.equal(undefined)
    expect(loaded.config.channels!.imessage).to.deep.equal(before)
    expect(loaded.warnings.join('\n')).not.to.contain('migrate')
    expect(fs.readFileSync(`${ctx.configPath}.bak`, 'utf8')).to.equal(legacy)
    expect((await migrateConfig(ctx)).migrated).to.equal(false)
  })

  it('migrate keeps a comment inside an otherwise empty channels object', async () => {
    write('{\n  channels: {\n    // more channels later\n  },\n  imessage: {\n    cliPath: "imsg",\n  },\n}\n')
    const r = await migrateConfig(ctx)
    expect(r.migrated).to.equal(true)
    expect(read()).to.contain('// more channels later')
    expect((await loadConfig(ctx)).config.channels!.imessage).to.deep.equal({cliPath: 'imsg'})
  })

  it('migrate never changes a value: a multi-line string (backslash line continuation) is not re-indented into', async () => {
    const text = '{\n  imessage: {\n    responsePrefix: "a\\\n  b",\n  },\n}\n'
    write(text)
    const before = (await loadConfig(ctx)).config.imessage!.responsePrefix
    let moved: unknown
    try {
      await migrateConfig(ctx)
      moved = (await loadConfig(ctx)).config.channels!.imessage!.responsePrefix
    } catch (error) {
      // refusing (file untouched) is acceptable; a changed value is not
      expect((error as RemoteclawError).code).to.equal('lossless_edit_failed')
      expect(read()).to.equal(text)
      return
    }
    expect(moved).to.equal(before)
  })

  it('migrate refuses when both imessage and channels.imessage exist', async () => {
    const both = '{\n  imessage: {enabled: true},\n  channels: {imessage: {enabled: false}},\n}\n'
    write(both)
    const e = await rejection(migrateConfig(ctx))
    expect(e.code).to.equal('migrate_conflict')
    expect(e.message).to.contain('line 2').and.contain('line 3')
    expect(read()).to.equal(both)
  })
})
