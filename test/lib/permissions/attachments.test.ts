import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {configSchema, type RemoteclawConfig} from '../../../src/lib/config/schema.js'
import {createContext, type Context} from '../../../src/lib/context.js'
import {createLogger} from '../../../src/lib/log.js'
import {checkAttachments, checkRemoteHost, remoteMacFor} from '../../../src/lib/permissions/attachments.js'
import {inspectWrapper} from '../../../src/lib/permissions/process-context.js'
import type {DoctorCheck, HostKeySummary} from '../../../src/lib/permissions/report.js'
import {renderWrapper} from '../../../src/lib/ssh/wrapper.js'
import {tempDir} from '../../helpers/cli.js'

const DEFAULT_ROOT = '/Users/*/Library/Messages/Attachments'

/** The doctor's remote_host and attachments findings, for wrapper-derived, explicit and local hosts. */
describe('doctor: remote host and attachment roots (as the gateway resolves them)', () => {
  let tmp: ReturnType<typeof tempDir>
  let ctx: Context
  let plainWrapper: string
  let generatedWrapper: string
  const hostKeys: string[] = []
  const trusted = async (_c: Context, host: string): Promise<HostKeySummary> => {
    hostKeys.push(host)
    return {state: 'trusted', fingerprint: 'SHA256:x', message: 'host key trusted'}
  }

  before(() => {
    tmp = tempDir('rc-doctor-att-')
    ctx = createContext({env: {HOME: tmp.dir}, home: tmp.dir, stateDir: tmp.dir, platform: 'linux', log: createLogger({level: 'error'})})
    plainWrapper = path.join(tmp.dir, 'imsg-plain')
    fs.writeFileSync(plainWrapper, '#!/bin/sh\nexec ssh -T -o BatchMode=yes bot@mac-mini /opt/homebrew/bin/imsg "$@"\n', {mode: 0o700})
    generatedWrapper = path.join(tmp.dir, 'imsg-generated')
    fs.writeFileSync(generatedWrapper, renderWrapper({user: 'bot', host: 'mac-mini', port: 2222, remoteImsgPath: '/opt/homebrew/bin/imsg'}), {mode: 0o700})
  })
  after(() => tmp.cleanup())
  beforeEach(() => {
    hostKeys.length = 0
  })

  async function findings(channel: Record<string, unknown>, accountId?: string, checkHostKey = true) {
    const config: RemoteclawConfig = configSchema.parse({channels: {imessage: channel}})
    const account = resolveAccount(config, accountId, ctx)
    const remote = await remoteMacFor(ctx, account)
    const wrapper = await inspectWrapper(account.cliPath.includes('/') ? account.cliPath : undefined)
    return {remoteHost: await checkRemoteHost(ctx, account, remote, wrapper, checkHostKey ? trusted : undefined), attachments: checkAttachments(ctx, config, account, remote)}
  }

  it('a plain `exec ssh user@host imsg "$@"` wrapper supplies the host: no "remoteHost unset", remoteAttachmentRoots checked', async () => {
    const f = await findings({cliPath: plainWrapper, includeAttachments: true})
    const rh = f.remoteHost as DoctorCheck
    expect(rh).to.include({id: 'remote_host', status: 'pass'})
    expect(rh.message).to.equal(`remote host bot@mac-mini (from the wrapper ${plainWrapper}): host key trusted`)
    expect(rh.message).to.not.include('unset')
    expect(rh.details).to.include({remoteHost: 'bot@mac-mini', from: 'wrapper'})
    expect(hostKeys).to.deep.equal(['bot@mac-mini'])
    expect(f.attachments.status).to.equal('info')
    expect(f.attachments.message).to.include(`under ${DEFAULT_ROOT} on bot@mac-mini, fetched over SCP (remoteAttachmentRoots, the default)`)
    expect(f.attachments.details).to.include({rootsKey: 'remoteAttachmentRoots', from: 'default', keyToExtend: 'channels.imessage.remoteAttachmentRoots', remoteHost: 'bot@mac-mini'})
  })

  it('an explicit remoteHost wins over the wrapper and says where it came from', async () => {
    const f = await findings({cliPath: plainWrapper, remoteHost: 'other@mac-studio', includeAttachments: true, remoteAttachmentRoots: ['~/Inbox']}, undefined, false)
    expect(f.remoteHost).to.include({status: 'info', message: 'remote host other@mac-studio (channels.imessage.remoteHost); host key not checked'})
    expect(f.attachments.message).to.include('under ~/Inbox on other@mac-studio').and.include('from channels.imessage.remoteAttachmentRoots')
  })

  it('local imsg: no remote_host finding, the local attachmentRoots', async () => {
    const f = await findings({cliPath: 'imsg', includeAttachments: true, attachmentRoots: ['/srv/att']})
    expect(f.remoteHost).to.equal(undefined)
    expect(f.attachments.message).to.include('under /srv/att on this machine (attachmentRoots, from channels.imessage.attachmentRoots)')
    expect(f.attachments.details).to.include({rootsKey: 'attachmentRoots', keyToExtend: 'channels.imessage.attachmentRoots'})
    expect(f.attachments.details).to.not.have.property('remoteHost', 'bot@mac-mini')
  })

  it('a wrapper the gateway cannot read (own ssh options) without remoteHost: the gateway\'s reason, and a fix with the wrapper\'s target', async () => {
    const on = await findings({cliPath: generatedWrapper, includeAttachments: true})
    expect(on.remoteHost).to.include({status: 'fail', severity: 'unhealthy'})
    expect(on.remoteHost!.message).to.include('not a plain `exec ssh user@host imsg "$@"` wrapper')
    expect(on.remoteHost!.fix).to.equal('remoteclaw config set channels.imessage.remoteHost bot@mac-mini')
    expect(on.attachments.details).to.include({rootsKey: 'attachmentRoots'})
    const off = await findings({cliPath: generatedWrapper})
    expect(off.remoteHost).to.include({status: 'warn'})
  })

  it('an account that inherits the channel roots vs one with its own: where the list comes from, which key to extend', async () => {
    const channel = {
      cliPath: plainWrapper,
      includeAttachments: true,
      remoteAttachmentRoots: ['/Volumes/Shared'],
      accounts: {bot: {dbPath: '/db/bot.db'}, work: {dbPath: '/db/work.db', remoteAttachmentRoots: ['/Users/work/In']}},
    }
    const inherits = (await findings(channel, 'bot')).attachments
    expect(inherits.message).to.include('under /Volumes/Shared on bot@mac-mini, fetched over SCP (remoteAttachmentRoots, from channels.imessage.remoteAttachmentRoots)')
    expect(inherits.details).to.include({keyToExtend: 'channels.imessage.remoteAttachmentRoots'})
    const own = (await findings(channel, 'work')).attachments
    expect(own.message).to.include('under /Users/work/In on bot@mac-mini, fetched over SCP (remoteAttachmentRoots, from channels.imessage.accounts.work.remoteAttachmentRoots)')
    expect(own.details).to.include({keyToExtend: 'channels.imessage.accounts.work.remoteAttachmentRoots'})
  })

  it('roots that can never match are a warning with a fix', async () => {
    const alias = await findings({cliPath: 'imsg', remoteHost: 'mac-mini', includeAttachments: true, remoteAttachmentRoots: ['~/Downloads']}, undefined, false)
    expect(alias.attachments.status).to.equal('warn')
    expect(alias.attachments.message).to.include('"~/Downloads"').and.include('names none').and.include('No attachment will reach the agent')
    expect(alias.attachments.fix).to.include('remoteclaw config set channels.imessage.remoteHost <user>@mac-mini')
    const relative = await findings({cliPath: 'imsg', includeAttachments: true, attachmentRoots: ['att', '/srv/att']})
    expect(relative.attachments.status).to.equal('warn')
    expect(relative.attachments.fix).to.equal(`Write them as absolute paths: remoteclaw config set channels.imessage.attachmentRoots '["/srv/att"]'`)
  })
})
