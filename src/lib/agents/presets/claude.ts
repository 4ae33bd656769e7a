import fsp from 'node:fs/promises'
import {exitFailure, obj, str, type Preset} from './types.js'

/**
 * Claude Code 2.x in print mode with the JSON event stream (agent-clis.md, Claude):
 *   claude -p --output-format stream-json --verbose [--resume <id>] [--mcp-config <json> --allowedTools mcp__<name>__*] <args> -- <prompt>
 * stdin is /dev/null (claude waits 3 s on an open pipe). With images the prompt goes on stdin
 * instead, as one stream-json user message with base64 image blocks (--input-format stream-json).
 * Finished text blocks arrive as `assistant` lines, the answer as `result.result`.
 * The MCP server is added with --mcp-config only: --strict-mcp-config would also switch off the
 * operator's own MCP servers, which they configured on purpose.
 */
const REFUSED = /No conversation found with session ID/i

export const claude: Preset = {
  name: 'claude',
  bin: 'claude',
  label: 'Claude Code',
  install: 'npm install -g @anthropic-ai/claude-code',
  async build(req) {
    const argv = ['-p', '--output-format', 'stream-json', '--verbose']
    if (req.resumeId) argv.push('--resume', req.resumeId)
    if (req.mcp) {
      const {name, command, args, env} = req.mcp
      // both flags are variadic: each is followed by another flag, never by the prompt
      argv.push('--mcp-config', JSON.stringify({mcpServers: {[name]: {command, args, env}}}), '--allowedTools', `mcp__${name}__*`)
    }
    argv.push(...req.args)
    if (req.images.length === 0) return {argv: [...argv, '--', req.prompt]}
    const content: unknown[] = [{type: 'text', text: req.prompt}]
    for (const img of req.images) {
      const data = await fsp.readFile(img.path)
      content.push({type: 'image', source: {type: 'base64', media_type: img.mimeType, data: data.toString('base64')}})
    }
    argv.push('--input-format', 'stream-json')
    return {argv, stdin: JSON.stringify({type: 'user', message: {role: 'user', content}}) + '\n'}
  },
  parser(onBlock) {
    let sessionId: string | undefined
    let result: Record<string, unknown> | undefined
    return {
      event(e) {
        const sid = str(e.session_id)
        if (sid && (e.type === 'system' || !sessionId)) sessionId = sid
        if (e.type === 'assistant') {
          // subagent messages (parent_tool_use_id) and synthetic API-error messages are not answers
          if (e.parent_tool_use_id || e.error !== undefined) return
          const content = obj(e.message)?.content
          if (!Array.isArray(content)) return
          for (const block of content) {
            const b = obj(block)
            const text = b?.type === 'text' ? str(b.text) : undefined
            if (text && text.trim() !== '') onBlock(text)
          }
        } else if (e.type === 'result') {
          result = e
          if (sid) sessionId = sid
        }
      },
      finish(end) {
        if (end.code !== 0 && REFUSED.test(end.stderr)) return {resumeRefused: true, error: 'claude: no conversation found with that session id'}
        const failed = exitFailure(end, 'claude')
        if (result && (result.is_error === true || result.subtype !== 'success')) {
          const errors = Array.isArray(result.errors) ? result.errors.filter((x) => typeof x === 'string').join('; ') : ''
          const status = result.api_error_status === undefined ? '' : ` (API status ${String(result.api_error_status)})`
          return {sessionId, error: `claude result ${String(result.subtype)}${result.is_error === true ? ', is_error' : ''}${status}${errors ? `: ${errors}` : ''}`}
        }
        if (failed) return {sessionId, error: failed}
        if (!result) return {sessionId, error: 'claude ended without a result event'}
        return {sessionId, text: str(result.result) ?? ''}
      },
    }
  },
}
