import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import JSON5 from 'json5'
import {ConfigInvalidError, checkConfigFile, loadConfig} from '../../../src/lib/config/load.js'
import {didYouMean, formatIssue, validateConfig} from '../../../src/lib/config/validate.js'
import {REPO_ROOT, tempDir} from '../../helpers/cli.js'

const FILE = '/cfg/remoteclaw.json'
function check(text: string, home = '/home/u') {
  return validateConfig(JSON5.parse(text), {file: FILE, text, home})
}

describe('config validation', () => {
  it('reports unknown keys with a did-you-mean from the keys allowed at that level, with file:line:col', () => {
    const text = '{\n  channels: {\n    imessage: {\n      dmpolicy: "pairing",\n    },\n  },\n}\n'
    const {errors} = check(text)
    expect(errors).to.have.length(1)
    expect(errors[0]!.path).to.equal('channels.imessage.dmpolicy')
    expect(errors[0]!.where).to.equal(`${FILE}:4:7`)
    expect(errors[0]!.message).to.equal('unknown key "dmpolicy" (did you mean "dmPolicy"?)')
    expect(formatIssue(errors[0]!)).to.equal(`${FILE}:4:7: channels.imessage.dmpolicy: unknown key "dmpolicy" (did you mean "dmPolicy"?)`)
    expect(errors[0]!.fix).to.contain('remoteclaw config unset channels.imessage.dmpolicy')
  })

  it('suggests at every level and only close names', () => {
    const text = '{chanels: {}, agents: {list: [{id: "a", groupchat: {}}]}, messages: {groupChat: {mentionPattern: []}}}'
    const msgs = check(text).errors.map((e) => `${e.path}: ${e.message}`)
    expect(msgs).to.include('chanels: unknown key "chanels" (did you mean "channels"?)')
    expect(msgs).to.include('agents.list[0].groupchat: unknown key "groupchat" (did you mean "groupChat"?)')
    expect(msgs).to.include('messages.groupChat.mentionPattern: unknown key "mentionPattern" (did you mean "mentionPatterns"?)')
    expect(didYouMean('zzzzzz', ['dmPolicy', 'allowFrom'])).to.equal(undefined)
  })

  it('names the key path and location of type errors, with enum did-you-mean', () => {
    const text = '{\n  channels: {imessage: {\n    dmPolicy: "opne",\n    mediaMaxMb: "big",\n  }},\n}'
    const {errors} = check(text)
    const dm = errors.find((e) => e.path === 'channels.imessage.dmPolicy')!
    expect(dm.where).to.equal(`${FILE}:3:5`)
    expect(dm.message).to.contain('did you mean "open"?')
    const mb = errors.find((e) => e.path === 'channels.imessage.mediaMaxMb')!
    expect(mb.message).to.equal('must be number, not string')
    expect(mb.where).to.equal(`${FILE}:4:5`)
  })

  it('an enum fix suggests a value the rest of the file accepts: not "open" without "*" in allowFrom', () => {
    const refused = check('{channels: {imessage: {dmPolicy: "opn", allowFrom: ["+15551234567"]}}}').errors.find((e) => e.path === 'channels.imessage.dmPolicy')!
    expect(refused.message).to.contain('did you mean "open"?')
    expect(refused.fix).to.match(/^remoteclaw config set channels\.imessage\.dmPolicy pairing {3}\("open" would be refused: dmPolicy "open" needs "\*"/)
    const allowed = check('{channels: {imessage: {dmPolicy: "opn", allowFrom: ["*"]}}}').errors.find((e) => e.path === 'channels.imessage.dmPolicy')!
    expect(allowed.fix).to.equal('remoteclaw config set channels.imessage.dmPolicy open')
  })

  it('dmPolicy "open" without "*" is an error carrying the exact fix command', () => {
    const text = '{channels: {imessage: {dmPolicy: "open", allowFrom: ["+15551234567"]}}}'
    const {errors} = check(text)
    expect(errors).to.have.length(1)
    expect(errors[0]!.path).to.equal('channels.imessage.dmPolicy')
    expect(errors[0]!.message).to.contain('needs "*"')
    expect(errors[0]!.fix).to.contain(`remoteclaw config set channels.imessage.allowFrom '["*"]'`)
  })

  it('checks "open" after inheritance: an account override gets the fix at its own level', () => {
    const text = '{channels: {imessage: {allowFrom: ["*"], accounts: {bot: {dmPolicy: "open", allowFrom: ["+1555"], cliPath: "/a"}, b: {cliPath: "/b"}}}}}'
    const {errors, warnings} = check(text)
    expect(errors).to.have.length(1)
    expect(errors[0]!.path).to.equal('channels.imessage.accounts.bot.dmPolicy')
    expect(errors[0]!.fix).to.contain(`remoteclaw config set channels.imessage.accounts.bot.allowFrom '["*"]'`)
    expect(warnings.map((w) => w.path)).to.include('channels.imessage.accounts.bot.allowFrom') // hides the inherited list
    // inherited "*" is enough
    const ok = check('{channels: {imessage: {allowFrom: ["*"], accounts: {bot: {dmPolicy: "open"}}}}}')
    expect(ok.errors).to.deep.equal([])
    const open = ok.warnings.find((w) => w.path === 'channels.imessage.accounts.bot.dmPolicy')
    expect(open?.message).to.contain('"open": anyone who knows this number')
    expect(open?.fix).to.equal('For approval of each new sender: remoteclaw config set channels.imessage.accounts.bot.dmPolicy pairing')
  })

  it('lists semantic errors in the same run as unknown keys, and says when the suggested key already exists', () => {
    const {errors} = check('{channels: {imessage: {dmpolicy: "x", dmPolicy: "open", allowFrom: ["+1555"]}}}')
    expect(errors.map((e) => e.path)).to.deep.equal(['channels.imessage.dmpolicy', 'channels.imessage.dmPolicy'])
    expect(errors[0]!.message).to.contain('already set next to it')
    expect(errors[0]!.fix).to.equal('Remove the misspelled key: remoteclaw config unset channels.imessage.dmpolicy')
  })

  it('rejects mention patterns that do not compile as RegExp with flag i', () => {
    const text = '{messages: {groupChat: {mentionPatterns: ["@bot\\\\b", "(unclosed"]}}, agents: {list: [{id: "a", groupChat: {mentionPatterns: ["[z-a]"]}}]}}'
    const {errors} = check(text)
    expect(errors.map((e) => e.path)).to.deep.equal(['messages.groupChat.mentionPatterns[1]', 'agents.list[0].groupChat.mentionPatterns[0]'])
    expect(errors[0]!.message).to.contain('not a valid regular expression')
    expect(errors[0]!.where).to.match(/:1:\d+$/)
  })

  it('defaultAccount must name an account', () => {
    const {errors} = check('{channels: {imessage: {defaultAccount: "bott", accounts: {bot: {cliPath: "/a"}, work: {cliPath: "/b"}}}}}')
    expect(errors).to.have.length(1)
    expect(errors[0]!.path).to.equal('channels.imessage.defaultAccount')
    expect(errors[0]!.message).to.contain('did you mean "bot"')
    expect(errors[0]!.fix).to.equal('remoteclaw config set channels.imessage.defaultAccount bot')
    expect(check('{channels: {imessage: {defaultAccount: "default"}}}').errors).to.deep.equal([])
  })

  it('two enabled accounts with the same cliPath and dbPath (after ~ expansion) are an error; disabling one fixes it', () => {
    const text = '{channels: {imessage: {dbPath: "~/chat.db", accounts: {a: {cliPath: "~/imsg"}, b: {cliPath: "/home/u/imsg"}}}}}'
    const {errors} = check(text, '/home/u')
    expect(errors).to.have.length(1)
    expect(errors[0]!.path).to.equal('channels.imessage.accounts.b')
    expect(errors[0]!.fix).to.contain('remoteclaw config set channels.imessage.accounts.b.enabled false')
    expect(check('{channels: {imessage: {accounts: {a: {}, b: {enabled: false}}}}}').errors).to.deep.equal([])
    expect(check('{channels: {imessage: {accounts: {a: {}, b: {dbPath: "/other.db"}}}}}').errors).to.deep.equal([])
  })

  it('warns (not errors) about the legacy layout, empty group allowlists, open DMs and hidden inherited maps', () => {
    const legacy = check('{imessage: {groups: {"1": {}}}}')
    expect(legacy.errors).to.deep.equal([])
    expect(legacy.warnings[0]!.path).to.equal('imessage')
    expect(legacy.warnings[0]!.fix).to.contain('remoteclaw config migrate')

    const both = check('{imessage: {cliPath: "/a"}, channels: {imessage: {dmPolicy: "pairing"}}}')
    expect(both.errors.map((e) => e.path)).to.deep.equal(['imessage'])
    expect(both.errors[0]!.fix).to.contain('remoteclaw config migrate')

    const noGroups = check('{channels: {imessage: {groupPolicy: "allowlist"}}}')
    expect(noGroups.errors).to.deep.equal([])
    expect(noGroups.warnings).to.have.length(1)
    expect(noGroups.warnings[0]!.message).to.contain('every group message will be ignored')
    expect(noGroups.warnings[0]!.fix).to.contain(`remoteclaw config set 'channels.imessage.groups["<chat_id>"]'`)
    expect(check('{channels: {imessage: {groupPolicy: "disabled"}}}').warnings).to.deep.equal([])

    const hidden = check('{channels: {imessage: {groups: {"1": {}}, accounts: {bot: {groups: {"2": {}}}}}}}')
    expect(hidden.warnings.map((w) => w.path)).to.deep.equal(['channels.imessage.accounts.bot.groups'])
    expect(hidden.warnings[0]!.message).to.contain('not merged')
  })

  it('checks agents: unique ids, one default, agentId references', () => {
    const {errors} = check(
      '{agents: {list: [{id: "main", default: true}, {id: "main", default: true}]}, channels: {imessage: {agentId: "mian", groups: {"1": {}}}}}',
    )
    expect(errors.map((e) => e.path)).to.have.members(['agents.list[1].id', 'agents.list[1].default', 'channels.imessage.agentId'])
    expect(errors.find((e) => e.path === 'channels.imessage.agentId')!.message).to.contain('did you mean "main"')
  })

  describe('files', () => {
    let t: ReturnType<typeof tempDir>
    beforeEach(() => {
      t = tempDir()
    })
    afterEach(() => t.cleanup())

    it('a missing file is an empty, valid config', async () => {
      const loaded = await loadConfig({configPath: path.join(t.dir, 'nope.json')})
      expect(loaded.exists).to.equal(false)
      expect(loaded.config).to.deep.equal({})
      expect(loaded.warnings).to.deep.equal([])
    })

    it('parse errors give file:line:col and exit 7', async () => {
      const file = path.join(t.dir, 'remoteclaw.json')
      fs.writeFileSync(file, '{\n  channels: {\n    imessage: { enabled: true,, },\n  },\n}\n')
      try {
        await loadConfig({configPath: file})
        expect.fail('should throw')
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigInvalidError)
        expect((error as ConfigInvalidError).exitCode).to.equal(7)
        expect((error as Error).message).to.match(new RegExp(`^${file.replaceAll('.', '\\.')}:3:31: JSON5 syntax error`))
      }
      const r = await checkConfigFile({configPath: file})
      expect(r.errors[0]!.line).to.equal(3)
      expect(r.errors[0]!.column).to.equal(31)
    })

    it('loadConfig throws exit 7 for schema errors, naming path and location', async () => {
      const file = path.join(t.dir, 'remoteclaw.json')
      fs.writeFileSync(file, '{\n  channels: {imessage: {dmpolicy: "open"}},\n}\n')
      const e = await loadConfig({configPath: file}).then(
        () => expect.fail('should throw'),
        (error: unknown) => error as ConfigInvalidError,
      )
      expect(e.exitCode).to.equal(7)
      expect(e.message).to.contain(`${file}:2:25: channels.imessage.dmpolicy: unknown key "dmpolicy" (did you mean "dmPolicy"?)`)
    })

    it('accepts the shipped examples (the legacy one with a migrate warning)', async () => {
      const main = await checkConfigFile({configPath: path.join(REPO_ROOT, 'examples', 'remoteclaw.json5')})
      expect(main.errors).to.deep.equal([])
      const legacy = await checkConfigFile({configPath: path.join(REPO_ROOT, 'examples', 'legacy.json5')})
      expect(legacy.errors).to.deep.equal([])
      expect(legacy.warnings.map((w) => w.fix).join('\n')).to.contain('remoteclaw config migrate')
    })
  })
})
