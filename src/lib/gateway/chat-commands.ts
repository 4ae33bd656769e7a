import type {ResolvedAccount} from '../config/accounts.js'
import type {RemoteclawConfig} from '../config/schema.js'
import {getConfigValue, setConfigValue, unsetConfigValue} from '../config/store.js'
import type {Context} from '../context.js'
import {errorMessage} from '../errors.js'
import type {Logger} from '../log.js'
import {matchesAllowList} from '../access/decide.js'
import type {Envelope} from '../core/envelope.js'

/**
 * A sender approved by name: pairing-approved, or their handle listed in allowFrom or
 * groupAllowFrom. "*" and chat_* entries do not count: they admit whoever writes in a chat,
 * and /config can change what the gateway runs (agents.list[].command).
 */
export function approvedByName(env: Envelope, account: ResolvedAccount, approved: {isApproved(handle: string): boolean}): boolean {
  if (env.sender.handle === '') return false
  if (approved.isApproved(env.sender.handle)) return true
  const named = [...account.allowFrom, ...account.groupAllowFrom].filter((e) => e !== '*' && !/^chat_(id|guid|identifier):/i.test(e))
  return named.length > 0 && matchesAllowList(env, named, account.region)
}

/**
 * `/config get|set|unset <path> [value]` from chat. Only reached for accepted messages, and only
 * run for senders approved by name (approvedByName). Needs commands.config: true;
 * set/unset also need configWrites (account, then channel; default true). Writes go through
 * the validated, comment-preserving writer; the gateway's config watcher then applies them.
 */
export const CONFIG_COMMAND = /^\/config(?:\s+(\S+))?(?:\s+(\S+))?(?:\s+([\s\S]+))?$/

const MAX_REPLY = 1500

function short(value: unknown): string {
  const s = JSON.stringify(value)
  if (s === undefined) return 'undefined'
  return s.length > MAX_REPLY ? s.slice(0, MAX_REPLY) + '…' : s
}

export function createConfigCommandHandler(deps: {
  ctx: Pick<Context, 'configPath' | 'home'>
  config: () => RemoteclawConfig
  log: Logger
}): (env: Envelope, account: ResolvedAccount, approved: {isApproved(handle: string): boolean}) => Promise<string | undefined> {
  return async (env, account, approved) => {
    const text = env.text.trim()
    if (!text.startsWith('/config')) return undefined
    const m = CONFIG_COMMAND.exec(text)
    if (!m) return undefined
    const who = env.sender.handle || env.sender.raw
    if (deps.config().commands?.config !== true) {
      deps.log.info(`/config from ${who} not run: chat commands are off (commands.config is not true); passing it to the agent as text`, {
        admit: 'remoteclaw config set commands.config true',
      })
      return undefined
    }
    if (!approvedByName(env, account, approved)) {
      deps.log.info(
        `/config from ${who || 'an unknown sender'} not run: only senders approved by name may use chat commands (pairing approval, or their handle in ${account.keyPrefix}.allowFrom; "*" and chat_* entries do not count); passing it to the agent as text`,
        {admit: who ? `remoteclaw pairing approve imessage ${who}${account.keyPrefix.includes('.accounts.') ? ` --account ${account.id}` : ''}` : undefined},
      )
      return undefined
    }
    const [, verb, path, value] = m
    const usage = 'usage: /config get <path> | /config set <path> <value> | /config unset <path>'
    if (!verb || !path || !['get', 'set', 'unset'].includes(verb)) return usage
    if (verb !== 'get' && !account.configWrites) {
      deps.log.info(`/config ${verb} ${path} from ${who} refused: ${account.keyPrefix}.configWrites is false`, {
        admit: `remoteclaw config set ${account.keyPrefix}.configWrites true`,
      })
      return `Refused: config writes from chat are off (${account.keyPrefix}.configWrites is false).`
    }
    try {
      if (verb === 'get') {
        const r = await getConfigValue(deps.ctx, path)
        return `${r.key} = ${short(r.value)}`
      }
      if (verb === 'set') {
        if (value === undefined) return usage
        const r = await setConfigValue(deps.ctx, path, value)
        deps.log.info(`/config set ${r.key} by ${who}`, {key: r.key, changed: r.changed, backup: r.backupPath})
        // No server paths in chat: the backup's path is in the log line above.
        return r.changed ? `Set ${r.key} = ${short(r.value)} (applies now; the previous file is kept as a backup)` : `${r.key} already is ${short(r.value)}`
      }
      const r = await unsetConfigValue(deps.ctx, path)
      deps.log.info(`/config unset ${r.key} by ${who}`, {key: r.key})
      return `Unset ${r.key} (was ${short(r.value)}).`
    } catch (error) {
      deps.log.info(`/config ${verb} ${path} from ${who} failed: ${errorMessage(error)}`)
      // The reason only (one line, no stack, no file contents, no server paths).
      return `Not done: ${errorMessage(error).split('\n')[0]!.replaceAll(deps.ctx.configPath, 'the config file')}`
    }
  }
}
