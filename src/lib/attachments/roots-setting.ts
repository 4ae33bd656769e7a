import path from 'node:path'
import {collectionPrefix, type ResolvedAccount} from '../config/accounts.js'
import {shellQuote} from '../config/validate.js'
import {expandRoot, remoteHomeFor} from './roots.js'
import type {RemoteMac} from './remote.js'

/**
 * Which roots inbound attachments must lie under, and which config key holds them. The gateway
 * (inbound.ts) and `channels doctor` both take the roots from here, so they cannot disagree.
 */
export interface AttachmentRootsSetting {
  /** remoteAttachmentRoots when imsg runs on another Mac (set or derived remoteHost), else attachmentRoots. */
  key: 'attachmentRoots' | 'remoteAttachmentRoots'
  /**
   * The key to extend: the channel's when the account inherits the list (an account-level list
   * would replace it), else the account's own (keyPrefix).
   */
  keyPath: string
  /** The effective list as configured (after channel -> account inheritance and the default). */
  configured: string[]
  /** `~` expanded for the user imsg runs as; what paths are matched against. */
  roots: string[]
  /** Configured roots that can never match: relative, or `~` with the user on the Mac unknown. */
  unusable: string[]
  /** Home of the user imsg runs as (`/Users/<user>` on a remote Mac, undefined when that user is unknown). */
  home: string | undefined
}

export function attachmentRootsSetting(account: ResolvedAccount, remote: RemoteMac | undefined, localHome: string): AttachmentRootsSetting {
  const key = remote ? 'remoteAttachmentRoots' : 'attachmentRoots'
  const home = remote ? remoteHomeFor(remote.user) : localHome
  const configured = [...account[key]]
  const roots: string[] = []
  const unusable: string[] = []
  for (const r of configured) {
    const expanded = expandRoot(r, home)
    if (expanded?.startsWith('/')) roots.push(expanded)
    else unusable.push(r)
  }
  return {key, keyPath: `${collectionPrefix(account, key)}.${key}`, configured, roots, unusable, home}
}

/** A literal directory as a root pattern: glob characters escaped so it matches only itself. */
export function literalRoot(dir: string): string {
  return dir.replace(/[\\*?[\]{}()!+@]/g, (c) => `\\${c}`)
}

/**
 * The command that admits `file`: the key's whole list (lists are replaced, not merged) plus the
 * file's directory. Undefined when the directory has control characters (not safe to paste).
 */
export function admitRootCommand(setting: AttachmentRootsSetting, file: string): string | undefined {
  const dir = path.posix.dirname(file)
  // eslint-disable-next-line no-control-regex
  if (!dir.startsWith('/') || /[\u0000-\u001f\u007f]/.test(dir)) return undefined
  const list = [...setting.configured.filter((r) => r !== dir), literalRoot(dir)]
  return `remoteclaw config set ${shellQuote(setting.keyPath)} ${shellQuote(JSON.stringify(list))}`
}
