import type {Context} from '../context.js'

export interface RunResult {
  exitCode?: number
  stdout: string
  stderr: string
  timedOut: boolean
  spawnError?: string
}

/** One imsg (or wrapper) command run by the doctor: never throws, never outlives timeoutMs. */
export async function run(ctx: Context, cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  try {
    const r = await ctx.spawn(cmd, args, {reject: false, timeout: timeoutMs, stdin: 'ignore', env: ctx.env, extendEnv: false})
    const spawnError = r.exitCode === undefined && !r.timedOut ? (r as {shortMessage?: string}).shortMessage ?? 'could not start' : undefined
    return {exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), timedOut: Boolean(r.timedOut), spawnError}
  } catch (error) {
    return {stdout: '', stderr: '', timedOut: false, spawnError: (error as Error).message}
  }
}

export function excerpt(text: string, max = 300): string {
  const t = text.trim().replace(/\s+\n/g, '\n')
  return t.length > max ? `${t.slice(0, max)}…` : t
}
