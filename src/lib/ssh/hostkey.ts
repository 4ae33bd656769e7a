import {createHash} from 'node:crypto'
import ssh2 from 'ssh2'
import {ExitCode, RemoteclawError} from '../errors.js'
import {validateHost, validatePort} from './validate.js'

export interface HostKey {
  /** e.g. "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa" */
  keyType: string
  /** base64 of the SSH wire-format public key blob (the second field of a known_hosts line) */
  keyBase64: string
  /** OpenSSH format: "SHA256:" + unpadded base64 of sha256(blob), as `ssh-keygen -lf` prints */
  fingerprint: string
}

export function fingerprintOf(keyBase64: string): string {
  const digest = createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64')
  return `SHA256:${digest.replace(/=+$/, '')}`
}

/** The key type is the first length-prefixed string of the blob. */
export function hostKeyFromBlob(blob: Buffer): HostKey {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0
  const keyType = len > 0 && len < 64 && blob.length >= 4 + len ? blob.subarray(4, 4 + len).toString('latin1') : 'unknown'
  const keyBase64 = blob.toString('base64')
  return {keyType, keyBase64, fingerprint: fingerprintOf(keyBase64)}
}

/** Parses "ssh-ed25519 AAAA... [comment]" (a .pub file or the key part of a known_hosts line). */
export function hostKeyFromPublicLine(line: string): HostKey {
  const [keyType, keyBase64] = line.trim().split(/\s+/)
  if (!keyType || !keyBase64) throw new RemoteclawError(`not a public key line: ${JSON.stringify(line.slice(0, 40))}`)
  return {keyType, keyBase64, fingerprint: fingerprintOf(keyBase64)}
}

/**
 * Connects with ssh2 only far enough to see the server's host key, then aborts (the verifier
 * refuses), so nothing is authenticated or trusted here. `hostKeyAlgorithms` picks which key
 * to ask for when a server has several (default: ssh2's order, ed25519 first).
 */
export async function fetchHostKey(
  host: string,
  port = 22,
  opts: {timeoutMs?: number; hostKeyAlgorithms?: string[]} = {},
): Promise<HostKey> {
  const h = validateHost(host)
  const p = validatePort(port) ?? 22
  const timeoutMs = opts.timeoutMs ?? 10_000
  return new Promise<HostKey>((resolve, reject) => {
    const client = new ssh2.Client()
    let key: HostKey | undefined
    let settled = false
    const finish = (err?: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      client.end()
      if (key) resolve(key)
      else reject(err)
    }
    const timer = setTimeout(
      () =>
        finish(
          new RemoteclawError(`no SSH answer from ${h}:${p} within ${timeoutMs} ms`, {
            code: 'ssh_unreachable',
            exitCode: ExitCode.UNREACHABLE,
            fix: 'Check the host name, that Remote Login is on (System Settings > General > Sharing) and the network/Tailscale path.',
          }),
        ),
      timeoutMs,
    )
    client.on('error', (error: Error) => {
      if (key) return finish()
      finish(
        new RemoteclawError(`could not read the SSH host key of ${h}:${p}: ${error.message}`, {
          code: 'ssh_unreachable',
          exitCode: ExitCode.UNREACHABLE,
          fix: 'Check the host name and port, and that Remote Login is on (System Settings > General > Sharing).',
          cause: error,
        }),
      )
    })
    client.on('close', () => finish(new RemoteclawError(`SSH connection to ${h}:${p} closed before a host key was offered`, {code: 'ssh_unreachable', exitCode: ExitCode.UNREACHABLE})))
    client.connect({
      host: h,
      port: p,
      username: 'remoteclaw-hostkey-probe',
      readyTimeout: timeoutMs,
      algorithms: opts.hostKeyAlgorithms ? {serverHostKey: opts.hostKeyAlgorithms as never} : undefined,
      hostVerifier: (blob: Buffer) => {
        key = hostKeyFromBlob(blob)
        setImmediate(() => finish())
        return false
      },
    })
  })
}
