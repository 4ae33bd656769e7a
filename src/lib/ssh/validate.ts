import {UsageError} from '../errors.js'

/**
 * Strict validation of everything that ends up on an ssh/scp command line or inside a
 * generated wrapper. argv-style spawning already keeps the LOCAL shell out; these rules keep
 * option injection (`-oProxyCommand=...` as a host) and the REMOTE login shell out too.
 */

const USER_RE = /^[A-Za-z_][A-Za-z0-9._-]*$/
// One DNS label: letters, digits, '-', '_' (Tailscale and some LAN names use '_'); no leading '-'.
const LABEL_RE = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})$/
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const IPV6_RE = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/

export function validateUser(user: string): string {
  if (typeof user !== 'string' || !USER_RE.test(user) || user.length > 64) {
    throw new UsageError(`invalid SSH user ${JSON.stringify(user)}`, {
      fix: 'Use a macOS short user name: letters, digits, ".", "_" or "-", not starting with "-" or a digit.',
      code: 'invalid_ssh_user',
    })
  }
  return user
}

/** hostname, Tailscale/MagicDNS name, IPv4, or IPv6 (bare or in [brackets]). Returns the host without brackets. */
export function validateHost(host: string): string {
  const bad = () =>
    new UsageError(`invalid SSH host ${JSON.stringify(host)}`, {
      fix: 'Use a host name (mac-mini.local, mac-mini.tailnet-1234.ts.net), an IPv4 address or [IPv6]; no leading "-", spaces or shell characters.',
      code: 'invalid_ssh_host',
    })
  if (typeof host !== 'string' || host === '' || host.length > 253) throw bad()
  if (host.startsWith('[') && host.endsWith(']')) {
    const inner = host.slice(1, -1)
    if (!inner.includes(':') || !IPV6_RE.test(inner)) throw bad()
    return inner
  }
  if (host.includes(':')) {
    if (!IPV6_RE.test(host)) throw bad()
    return host
  }
  if (IPV4_RE.test(host)) return host
  const labels = host.replace(/\.$/, '').split('.')
  if (labels.some((l) => !LABEL_RE.test(l) || l.endsWith('-'))) throw bad()
  return host
}

export function validatePort(port: number | string | undefined): number | undefined {
  if (port === undefined || port === '') return undefined
  const n = typeof port === 'number' ? port : /^\d+$/.test(port) ? Number(port) : Number.NaN
  if (!Number.isInteger(n) || n < 1 || n > 65_535) {
    throw new UsageError(`invalid SSH port ${JSON.stringify(port)}`, {fix: 'Use a port number from 1 to 65535.', code: 'invalid_ssh_port'})
  }
  return n
}

// Characters a remote login shell would interpret even inside our own quoting plans, or that
// make a path ambiguous on a command line. Paths put on a remote command line must avoid them.
const REMOTE_PATH_META = /[\s'"`$;&|<>(){}*?[\]\\!#]/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/**
 * A path on the remote Mac that we put on a remote command line (the imsg binary in a wrapper,
 * a db path): absolute or `~/...`, no `..`, no control characters, no shell metacharacters.
 */
export function validateRemotePath(p: string, what = 'remote path'): string {
  const fail = (why: string) =>
    new UsageError(`invalid ${what} ${JSON.stringify(p)}: ${why}`, {
      fix: 'Use an absolute path (/opt/homebrew/bin/imsg) or ~/...; letters, digits, "/", ".", "_", "-", "+", "@", ":", "," and "~" only.',
      code: 'invalid_remote_path',
    })
  if (typeof p !== 'string' || p === '') throw fail('empty')
  if (CONTROL.test(p)) throw fail('contains control characters')
  if (!(p.startsWith('/') || p.startsWith('~/'))) throw fail('must be absolute or start with ~/')
  if (p.split('/').includes('..')) throw fail('contains ".."')
  if (REMOTE_PATH_META.test(p)) throw fail('contains spaces or shell characters')
  if (p.slice(1).includes('~')) throw fail('"~" only at the start')
  return p
}

/** Parses `user@host`, `host`, `user@[v6]`. Both parts validated. */
export function parseRemoteHost(remoteHost: string): {user?: string; host: string} {
  if (typeof remoteHost !== 'string' || remoteHost.trim() !== remoteHost || remoteHost === '') {
    throw new UsageError(`invalid remoteHost ${JSON.stringify(remoteHost)}`, {fix: 'Set remoteHost to user@host, e.g. bot@mac-mini.local.', code: 'invalid_remote_host'})
  }
  const at = remoteHost.lastIndexOf('@')
  if (at === -1) return {host: validateHost(remoteHost)}
  return {user: validateUser(remoteHost.slice(0, at)), host: validateHost(remoteHost.slice(at + 1))}
}

/** `user@host` for ssh, `user@[v6]` where needed by scp. */
export function formatDestination(user: string | undefined, host: string, forScp = false): string {
  const h = forScp && host.includes(':') ? `[${host}]` : host
  return user ? `${user}@${h}` : h
}
