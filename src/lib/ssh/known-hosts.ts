import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto'
import fsp from 'node:fs/promises'
import path from 'node:path'
import {RemoteclawError} from '../errors.js'
import {mkdirPrivate, readIfExists, withFileLock} from '../util/files.js'
import {fetchHostKey, fingerprintOf, type HostKey} from './hostkey.js'
import {validateHost, validatePort} from './validate.js'

export interface KnownHostEntry {
  /** 1-based line number */
  line: number
  marker?: '@revoked' | '@cert-authority'
  /** comma-separated patterns, or undefined for a hashed entry */
  patterns?: string[]
  hashed?: {salt: Buffer; hash: Buffer}
  keyType: string
  keyBase64: string
}

export type HostKeyStatus = 'match' | 'mismatch' | 'unknown' | 'revoked'

/** Parses OpenSSH known_hosts text: plain patterns, hashed `|1|salt|hmac` names, @markers. Bad lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = []
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const f = line.split(/\s+/)
    let marker: KnownHostEntry['marker']
    if (f[0]!.startsWith('@')) {
      if (f[0] !== '@revoked' && f[0] !== '@cert-authority') return
      marker = f.shift() as KnownHostEntry['marker']
    }
    const [names, keyType, keyBase64] = f
    if (!names || !keyType || !keyBase64) return
    const entry: KnownHostEntry = {line: idx + 1, marker, keyType, keyBase64}
    if (names.startsWith('|1|')) {
      const [, , salt, hash] = names.split('|')
      if (!salt || !hash) return
      entry.hashed = {salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64')}
    } else {
      entry.patterns = names.split(',')
    }
    out.push(entry)
  })
  return out
}

/**
 * How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. ssh
 * lower-cases the name before matching or hashing, so a hashed entry for "Mac-Mini.local"
 * must hash "mac-mini.local" or ssh never finds it.
 */
export function knownHostName(host: string, port?: number): string {
  const h = validateHost(host).toLowerCase()
  const p = validatePort(port) ?? 22
  return p === 22 ? h : `[${h}]:${p}`
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i')
  return re.test(name)
}

export function hashHostName(name: string, salt: Buffer): Buffer {
  return createHmac('sha1', salt).update(name).digest()
}

export function entryMatchesHost(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const h = hashHostName(name, entry.hashed.salt)
    return h.length === entry.hashed.hash.length && timingSafeEqual(h, entry.hashed.hash)
  }
  let hit = false
  for (const p of entry.patterns ?? []) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false
    } else if (globMatch(p, name)) hit = true
  }
  return hit
}

export interface HostKeyLookup {
  status: HostKeyStatus
  file: string
  /** line of the matching, revoked or conflicting entry */
  line?: number
  /** fingerprint of the known (conflicting) key on mismatch */
  knownFingerprint?: string
  /** on unknown: entries for this host with OTHER key types (OpenSSH would ask for those types) */
  otherTypes?: Array<{keyType: string; line: number; fingerprint: string}>
}

/**
 * Looks `key` up for host:port like OpenSSH: a same-type entry with the same key is a match, a
 * same-type entry with another key is a mismatch (a changed key), a @revoked entry with this key
 * is revoked, no entry of this type is unknown. @cert-authority lines are ignored.
 */
export async function lookupHostKeyDetailed(file: string, host: string, port: number | undefined, key: Pick<HostKey, 'keyType' | 'keyBase64'>): Promise<HostKeyLookup> {
  const text = (await readIfExists(file)) ?? ''
  const name = knownHostName(host, port)
  const entries = parseKnownHosts(text).filter((e) => e.marker !== '@cert-authority' && entryMatchesHost(e, name))
  const revoked = entries.find((e) => e.marker === '@revoked' && e.keyBase64 === key.keyBase64)
  if (revoked) return {status: 'revoked', file, line: revoked.line}
  const plain = entries.filter((e) => !e.marker)
  const same = plain.find((e) => e.keyType === key.keyType && e.keyBase64 === key.keyBase64)
  if (same) return {status: 'match', file, line: same.line}
  const conflict = plain.find((e) => e.keyType === key.keyType)
  if (conflict) return {status: 'mismatch', file, line: conflict.line, knownFingerprint: fingerprintOf(conflict.keyBase64)}
  const otherTypes = plain.map((e) => ({keyType: e.keyType, line: e.line, fingerprint: fingerprintOf(e.keyBase64)}))
  return otherTypes.length > 0 ? {status: 'unknown', file, otherTypes} : {status: 'unknown', file}
}

/** ssh2 host key algorithms that make a server offer keys of these known_hosts key types. */
export function hostKeyAlgorithmsFor(keyTypes: string[]): string[] {
  const supported = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'])
  const out = new Set<string>()
  for (const t of keyTypes) {
    if (t === 'ssh-rsa') for (const a of ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) out.add(a)
    else if (supported.has(t)) out.add(t)
  }
  return [...out]
}

/**
 * Reads the host key (ssh2) and looks it up in `files` in order, like OpenSSH: ssh prefers
 * key types it already knows for a host, so when a file knows the host only under other types
 * (an ecdsa entry from an older ssh, while ssh2 asks for ed25519 first) the host is asked again
 * for those types and that key decides. A host that no longer offers any known type is a
 * mismatch (ssh refuses it too), never "unknown", so a caller cannot trust a new key past it.
 * `key` is the key that decided; `offered` every key the host showed (for --trust-host-key). Never writes.
 */
export async function fetchAndLookupHostKey(
  files: string[],
  host: string,
  port: number | undefined,
  connect: {host: string; port: number; timeoutMs?: number},
): Promise<{key: HostKey; found: HostKeyLookup; offered: HostKey[]}> {
  const key = await fetchHostKey(connect.host, connect.port, {timeoutMs: connect.timeoutMs})
  const offered = [key]
  let other: HostKeyLookup | undefined
  for (const file of files) {
    const found = await lookupHostKeyDetailed(file, host, port, key)
    if (found.status !== 'unknown') return {key, found, offered}
    other ??= found.otherTypes ? found : undefined
  }
  if (!other?.otherTypes) return {key, found: {status: 'unknown', file: files[0] ?? ''}, offered}
  const algorithms = hostKeyAlgorithmsFor(other.otherTypes.map((o) => o.keyType))
  const known = await (algorithms.length > 0 ? fetchHostKey(connect.host, connect.port, {timeoutMs: connect.timeoutMs, hostKeyAlgorithms: algorithms}).catch(() => undefined) : undefined)
  if (known) {
    offered.push(known)
    for (const file of files) {
      const found = await lookupHostKeyDetailed(file, host, port, known)
      if (found.status !== 'unknown') return {key: known, found, offered}
    }
  }
  const first = other.otherTypes[0]!
  return {key, found: {status: 'mismatch', file: other.file, line: first.line, knownFingerprint: first.fingerprint}, offered}
}

export async function lookupHostKey(file: string, host: string, port: number | undefined, key: Pick<HostKey, 'keyType' | 'keyBase64'>): Promise<HostKeyStatus> {
  return (await lookupHostKeyDetailed(file, host, port, key)).status
}

/** The fail-closed error for a changed or revoked host key. */
export function hostKeyMismatchError(host: string, port: number | undefined, fingerprint: string, where: {file: string; line?: number}, revoked = false): RemoteclawError {
  const name = knownHostName(host, port)
  const loc = `${where.file}${where.line ? `:${where.line}` : ''}`
  return new RemoteclawError(
    revoked
      ? `the host key of ${name} (${fingerprint}) is marked @revoked in known_hosts (${loc}); refusing to connect`
      : `the host key of ${name} does not match known_hosts (${loc}): the server now offers ${fingerprint}; refusing to connect`,
    {
      code: 'host_key_mismatch',
      fix: `Check the fingerprint on the Mac itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub). Only if the Mac was reinstalled: ssh-keygen -R '${name}', then trust the new key again (remoteclaw setup imessage).`,
      details: {host: name, fingerprint, knownHostsFile: where.file, line: where.line},
    },
  )
}

/**
 * Appends host:port -> key to known_hosts (hashed name when `hashed`, as HashKnownHosts does).
 * Never rewrites or removes lines: an existing different key of the same type is an error
 * (fail closed); an existing identical key is a no-op. Creates the file 0600 / a missing dir 0700.
 */
export async function appendKnownHost(
  file: string,
  host: string,
  port: number | undefined,
  key: Pick<HostKey, 'keyType' | 'keyBase64'>,
  opts: {hashed?: boolean; random?: (n: number) => Buffer} = {},
): Promise<{added: boolean; line: string}> {
  const name = knownHostName(host, port)
  // created 0700 when missing; an existing folder keeps its mode
  await mkdirPrivate(path.dirname(file))
  return withFileLock(file, async () => {
    const found = await lookupHostKeyDetailed(file, host, port, key)
    if (found.status === 'mismatch' || found.status === 'revoked') {
      throw hostKeyMismatchError(host, port, fingerprintOf(key.keyBase64), found, found.status === 'revoked')
    }
    let names = name
    if (opts.hashed) {
      const salt = (opts.random ?? randomBytes)(20)
      names = `|1|${salt.toString('base64')}|${hashHostName(name, salt).toString('base64')}`
    }
    const line = `${names} ${key.keyType} ${key.keyBase64}`
    if (found.status === 'match') return {added: false, line}
    const current = (await readIfExists(file)) ?? ''
    const sep = current === '' || current.endsWith('\n') ? '' : '\n'
    await fsp.appendFile(file, `${sep}${line}\n`, {mode: 0o600})
    return {added: true, line}
  })
}
