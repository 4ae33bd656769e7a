import {exitFailure, obj, str, type Preset} from './types.js'

/**
 * opencode `run` with JSON lines (agent-clis.md, opencode):
 *   opencode run [-f <image>]... --format json [-s <id> --dir <cwd>] <args> -- <message>
 * `-f` is variadic (it would swallow the message), so the files go first and end at the next
 * flag; `--` keeps a message starting with "-" the message. A resumed session needs --dir of its
 * own folder or `run` hangs. stdin is /dev/null (run reads a pipe to EOF). No init or end event:
 * the id is the first line's `sessionID`, the answer the `text` parts, failure an `error` line.
 * MCP goes in OPENCODE_CONFIG_CONTENT (merged into one the operator already sets) under `mcp`.
 */
const REFUSED = /Session not found/i

export const opencode: Preset = {
  name: 'opencode',
  bin: 'opencode',
  label: 'opencode',
  install: 'npm install -g opencode-ai',
  async build(req) {
    const argv = ['run']
    for (const img of req.images) argv.push('-f', img.path)
    argv.push('--format', 'json')
    if (req.resumeId) argv.push('-s', req.resumeId, '--dir', req.cwd)
    argv.push(...req.args, '--', req.prompt)
    if (!req.mcp) return {argv}
    let config: Record<string, unknown> = {}
    try {
      config = obj(JSON.parse(req.env.OPENCODE_CONFIG_CONTENT ?? '{}')) ?? {}
    } catch {
      // not JSON: opencode would refuse it anyway; ours replaces it
    }
    const {name, command, args, env} = req.mcp
    config.mcp = {...obj(config.mcp), [name]: {type: 'local', command: [command, ...args], environment: env, enabled: true}}
    return {argv, env: {OPENCODE_CONFIG_CONTENT: JSON.stringify(config)}}
  },
  parser(onBlock) {
    let sessionId: string | undefined
    const texts: string[] = []
    let failed: string | undefined
    return {
      event(e) {
        sessionId ??= str(e.sessionID)
        if (e.type === 'text') {
          const text = str(obj(e.part)?.text)
          if (text !== undefined && text.trim() !== '') {
            texts.push(text)
            onBlock(text)
          }
        } else if (e.type === 'error') {
          const err = obj(e.error)
          failed = str(obj(err?.data)?.message) ?? str(err?.name) ?? 'error'
        }
      },
      finish(end) {
        if (end.code !== 0 && REFUSED.test(end.stderr)) return {resumeRefused: true, error: 'opencode: session not found'}
        if (failed) return {sessionId, error: `opencode error: ${failed}`}
        const bad = exitFailure(end, 'opencode')
        if (bad) return {sessionId, error: bad}
        return {sessionId, text: texts.join('\n\n')}
      },
    }
  },
}
