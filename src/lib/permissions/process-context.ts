import fs from 'node:fs/promises'
import path from 'node:path'
import {parseTransparentWrapper} from '../ssh/wrapper.js'

/** SQLite's 16-byte file header. */
export const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1')

export type HeaderResult =
  | {ok: true}
  | {ok: false; reason: 'permission' | 'missing' | 'not_sqlite' | 'other'; detail: string}

/**
 * Opens the Messages DB read-only and reads its header: the cheapest proof that THIS process
 * (node, in its launch context) may read chat.db. No native sqlite needed.
 */
export async function readSqliteHeader(dbPath: string): Promise<HeaderResult> {
  let fh: fs.FileHandle | undefined
  try {
    fh = await fs.open(dbPath, 'r')
    const buf = Buffer.alloc(16)
    const {bytesRead} = await fh.read(buf, 0, 16, 0)
    if (bytesRead < 16 || !buf.equals(SQLITE_HEADER)) {
      return {ok: false, reason: 'not_sqlite', detail: `${dbPath} is not a SQLite database (header ${JSON.stringify(buf.subarray(0, bytesRead).toString('latin1'))})`}
    }
    return {ok: true}
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if (e.code === 'ENOENT') return {ok: false, reason: 'missing', detail: `${dbPath} does not exist`}
    if (e.code === 'EPERM' || e.code === 'EACCES') return {ok: false, reason: 'permission', detail: `${e.code}: ${e.message}`}
    return {ok: false, reason: 'other', detail: e.message}
  } finally {
    await fh?.close().catch(() => {})
  }
}

export interface ResolvedBinary {
  /** What the config says (after ~ expansion). */
  given: string
  /** The file PATH lookup found, or the given path. */
  found?: string
  /** found with every symlink resolved (Homebrew links into a versioned Cellar path). */
  real?: string
}

/** PATH lookup (for a bare name) plus realpath: the path macOS keys a grant to. */
export async function resolveBinary(cmd: string, env: NodeJS.ProcessEnv): Promise<ResolvedBinary> {
  const candidates = cmd.includes('/')
    ? [path.resolve(cmd)]
    : (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, cmd))
  for (const c of candidates) {
    try {
      await fs.access(c, fs.constants.X_OK)
      const st = await fs.stat(c)
      if (!st.isFile()) continue
      const real = await fs.realpath(c).catch(() => c)
      return {given: cmd, found: c, real}
    } catch {
      // next candidate
    }
  }
  return {given: cmd}
}

/** "a (-> b)" when a symlink resolves elsewhere. */
export function showPath(b: ResolvedBinary): string {
  if (!b.found) return b.given
  return b.real && b.real !== b.found ? `${b.found} (-> ${b.real})` : b.found
}

export interface WrapperInfo {
  /** The `user@host` the wrapper connects to, when recognisable. */
  target?: string
  /** The imsg path it runs on the far side, when recognisable. */
  remoteImsg?: string
}

/**
 * A cliPath that is a script invoking ssh is an SSH wrapper: checks that need macOS then run
 * on the far side through it, and permissions belong to that side's sshd session.
 */
export async function inspectWrapper(file: string | undefined): Promise<WrapperInfo | undefined> {
  if (!file) return undefined
  let head: string
  try {
    const fh = await fs.open(file, 'r')
    try {
      const buf = Buffer.alloc(8192)
      const {bytesRead} = await fh.read(buf, 0, buf.length, 0)
      head = buf.subarray(0, bytesRead).toString('utf8')
    } finally {
      await fh.close()
    }
  } catch {
    return undefined
  }
  if (!head.startsWith('#!')) return undefined
  const code = head
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')
  if (!/(^|[\s/"'])ssh(\s|$)/m.test(code)) return undefined
  const m = /\s-T\s+(?:--\s+)?['"]?([A-Za-z0-9._-]+@[A-Za-z0-9._:[\]-]+)['"]?(?:\s+['"]?([^\s'"]+))?/.exec(code)
  // remoteclaw's own wrapper keeps the remote path in `cmd=<quoted>`; the path itself never
  // contains quotes or backslashes (validated), so stripping them recovers it exactly.
  const cmd = /^cmd=(\S+)$/m.exec(code)
  const remoteImsg = cmd ? cmd[1]!.replace(/['\\]/g, '') : m?.[2] && !m[2].startsWith('$') ? m[2] : undefined
  if (!m?.[1]) {
    // A hand-written transparent wrapper (`exec ssh -T host imsg "$@"`): the ssh library knows its shape.
    const t = parseTransparentWrapper(head)
    if (t) return {target: t.user ? `${t.user}@${t.host}` : t.host, remoteImsg: /\s(\S*imsg)\s+"\$@"/.exec(code)?.[1]}
  }
  return {target: m?.[1], remoteImsg}
}

/**
 * Names the process context macOS holds a Full Disk Access or Automation grant against,
 * as precisely as we can tell from here. `service`: the LaunchAgent that runs the gateway
 * (its plist's ProgramArguments[0] is the binary the grant belongs to).
 */
export function describeLocalContext(
  env: NodeJS.ProcessEnv,
  nodePath: string,
  imsg: ResolvedBinary,
  service?: {label: string; program: string; file: string},
): {who: string; grantTo: string[]; gateway?: string} {
  const term = env.TERM_PROGRAM
  const launchd = env.XPC_SERVICE_NAME && env.XPC_SERVICE_NAME !== '0' && !term
  const terminalName =
    term === 'Apple_Terminal' ? 'Terminal.app' : term === 'iTerm.app' ? 'iTerm' : term === 'vscode' ? 'Visual Studio Code' : term ? term : undefined
  const grantTo: string[] = []
  let who: string
  if (launchd) {
    who = `a LaunchAgent/launchd job (${env.XPC_SERVICE_NAME})`
  } else if (terminalName) {
    who = `${terminalName} (this terminal session)`
  } else {
    who = 'this shell session (terminal app unknown)'
  }
  if (service) {
    // The gateway runs as the LaunchAgent: its program is what macOS asks about, not this terminal.
    grantTo.push(`${service.program} (the program the LaunchAgent ${service.label} runs, ProgramArguments in ${service.file})`)
  } else if (launchd) {
    grantTo.push(`the node binary ${nodePath} (the LaunchAgent's program; grant the real path, not a symlink)`)
  } else if (terminalName) {
    grantTo.push(`${terminalName} when you run \`remoteclaw gateway\` from it`)
    grantTo.push(`the node binary ${nodePath} if the gateway runs as a LaunchAgent instead`)
  } else {
    grantTo.push('the terminal app you run `remoteclaw gateway` from')
    grantTo.push(`the node binary ${nodePath} if the gateway runs as a LaunchAgent`)
  }
  if (imsg.found) grantTo.push(`imsg at ${imsg.real ?? imsg.found}`)
  const gateway = service ? `the gateway runs as the LaunchAgent ${service.label}, so ${service.program} needs the grant` : undefined
  return {who, grantTo, gateway}
}
