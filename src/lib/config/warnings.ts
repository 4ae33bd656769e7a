import {shellQuote} from './paths.js'

/**
 * One wording per config warning. `config validate` and the gateway log (through
 * validateConfig) and `channels doctor` (through findFootguns) all build them here, so an
 * operator reads the same sentence and the same fix wherever a warning shows up.
 * `message` does not repeat `key`: validate prints `file:line:col: key: message`, other places
 * print warningLine().
 */
export interface ConfigWarning {
  /** The key path the warning is about (the one to change). */
  key: string
  message: string
  fix: string
}

/** `key: message`, for places without a file location (channels doctor). */
export function warningLine(w: ConfigWarning): string {
  return `${w.key}: ${w.message}`
}

/** Top-level `imessage` (the layout before channels). */
export const LEGACY_LAYOUT_WARNING: ConfigWarning = {
  key: 'imessage',
  message: 'legacy layout: top-level "imessage" is read as channels.imessage',
  fix: 'Run: remoteclaw config migrate   (moves it under channels.imessage, keeping comments)',
}

/** dmPolicy "open" with "*" in allowFrom: anyone can reach the agent. */
export function dmOpenWarning(policyKey: string): ConfigWarning {
  return {
    key: policyKey,
    message: '"open": anyone who knows this number or Apple ID can talk to your agent',
    fix: `For approval of each new sender: remoteclaw config set ${shellQuote(policyKey)} pairing`,
  }
}

/** groupPolicy "allowlist" with no chat in groups: every group message is dropped. */
export function groupsAllowlistEmptyWarning(groupsKey: string, groupPolicyKey: string): ConfigWarning {
  return {
    key: groupsKey,
    message: `lists no chat while ${groupPolicyKey} is "allowlist": every group message will be ignored`,
    fix:
      `Add a chat by its chat_id (see remoteclaw chats list): remoteclaw config set '${groupsKey}["<chat_id>"]' '{}'` +
      `   (or ignore groups on purpose: remoteclaw config set ${shellQuote(groupPolicyKey)} disabled)`,
  }
}

/** An account's own map or list hides the channel's (they are not merged). */
export function overrideReplacesWarning(overrideKey: string, inheritedKey: string, accountId: string): ConfigWarning {
  return {
    key: overrideKey,
    message: `replaces ${inheritedKey} for account "${accountId}" (maps and lists are not merged)`,
    fix: `Copy the entries account "${accountId}" still needs into ${overrideKey}.`,
  }
}
