import {exitFailure, obj, str, type Preset} from './types.js'

/**
 * Codex CLI `exec` with JSONL events (agent-clis.md, Codex):
 *   codex exec --json --skip-git-repo-check [-c mcp_servers.<n>.*=<toml>] <args> [resume <id>] [-i <image>]... -- <prompt>
 * Options go before `resume` (it rejects most of them); `-i` is variadic, hence `--` before the
 * prompt. stdin is /dev/null: exec waits for EOF on an open pipe. The answer is the last
 * `agent_message`; `turn.failed` is a failure even when the exit code says otherwise.
 */
const REFUSED = /no rollout found for thread id|thread\/resume failed/i

/** A TOML value: JSON strings and arrays of strings are valid TOML; tables become inline tables. */
function toml(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(toml).join(', ')}]`
  const o = v as Record<string, unknown>
  return `{${Object.entries(o)
    .map(([k, x]) => `${JSON.stringify(k)} = ${toml(x)}`)
    .join(', ')}}`
}

export const codex: Preset = {
  name: 'codex',
  bin: 'codex',
  label: 'Codex CLI',
  install: 'npm install -g @openai/codex',
  async build(req) {
    const argv = ['exec', '--json', '--skip-git-repo-check']
    if (req.mcp) {
      const p = `mcp_servers.${req.mcp.name}`
      argv.push('-c', `${p}.command=${toml(req.mcp.command)}`, '-c', `${p}.args=${toml(req.mcp.args)}`)
      if (Object.keys(req.mcp.env).length > 0) argv.push('-c', `${p}.env=${toml(req.mcp.env)}`)
    }
    argv.push(...req.args)
    if (req.resumeId) argv.push('resume', req.resumeId)
    for (const img of req.images) argv.push('-i', img.path)
    argv.push('--', req.prompt)
    return {argv}
  },
  parser(onBlock) {
    let sessionId: string | undefined
    let last: string | undefined
    let failed: string | undefined
    return {
      event(e) {
        if (e.type === 'thread.started') sessionId = str(e.thread_id) ?? sessionId
        else if (e.type === 'item.completed') {
          const item = obj(e.item)
          const text = item?.type === 'agent_message' ? str(item.text) : undefined
          if (text !== undefined) {
            last = text
            if (text.trim() !== '') onBlock(text)
          }
        } else if (e.type === 'turn.failed') failed = str(obj(e.error)?.message) ?? 'turn failed'
        // `error` lines ("Reconnecting... 1/5") are progress, not the end of the turn
      },
      finish(end) {
        if (end.code !== 0 && REFUSED.test(end.stderr)) return {resumeRefused: true, error: 'codex: no rollout found for that thread id'}
        if (failed) return {sessionId, error: `codex turn.failed: ${failed}`}
        const bad = exitFailure(end, 'codex')
        if (bad) return {sessionId, error: bad}
        return {sessionId, text: last ?? ''}
      },
    }
  },
}
