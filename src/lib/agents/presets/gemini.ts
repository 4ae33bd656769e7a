import fsp from 'node:fs/promises'
import path from 'node:path'
import {exitFailure, obj, str, type Preset} from './types.js'

/**
 * Gemini CLI headless with the JSON event stream (agent-clis.md, Gemini):
 *   gemini --prompt=<text> [--include-directories <dir>]... -o stream-json [--resume <id>] <args>
 * `--prompt=` keeps a text starting with "-" a value. Images are `@<path>` in the prompt; their
 * folders are added to the workspace (gemini reads @files only inside it). Assistant text comes as
 * deltas: a block ends at the next non-text event; the answer is all deltas joined, as `-o json`
 * gives it. MCP: there is no per-run flag, so a per-run system settings file (the operator's
 * system settings, if any, plus our server) is named by GEMINI_CLI_SYSTEM_SETTINGS_PATH; the
 * home folder is not moved, because gemini's login lives there.
 */
const REFUSED = /Error resuming session/i

/** gemini's @-path syntax: a space would end the path. */
const atPath = (p: string): string => `@${p.replace(/([\s\\])/g, '\\$1')}`

function defaultSystemSettings(): string {
  if (process.platform === 'darwin') return '/Library/Application Support/GeminiCli/settings.json'
  if (process.platform === 'win32') return 'C:\\ProgramData\\gemini-cli\\settings.json'
  return '/etc/gemini-cli/settings.json'
}

export const gemini: Preset = {
  name: 'gemini',
  bin: 'gemini',
  label: 'Gemini CLI',
  install: 'npm install -g @google/gemini-cli',
  async build(req) {
    const prompt = req.images.length === 0 ? req.prompt : `${req.prompt}\n\n${req.images.map((i) => atPath(i.path)).join(' ')}`
    const argv = [`--prompt=${prompt}`]
    const outside = (d: string) => {
      const rel = path.relative(req.cwd, d)
      return rel.startsWith('..') || path.isAbsolute(rel)
    }
    const dirs = [...new Set(req.images.map((i) => path.dirname(i.path)))].filter(outside)
    for (const d of dirs) argv.push('--include-directories', d)
    argv.push('-o', 'stream-json')
    if (req.resumeId) argv.push('--resume', req.resumeId)
    argv.push(...req.args)
    if (!req.mcp) return {argv}
    const existing = req.env.GEMINI_CLI_SYSTEM_SETTINGS_PATH || defaultSystemSettings()
    let settings: Record<string, unknown> = {}
    try {
      settings = obj(JSON.parse(await fsp.readFile(existing, 'utf8'))) ?? {}
    } catch {
      // none, or not readable: ours alone
    }
    const {name, command, args, env} = req.mcp
    settings.mcpServers = {...obj(settings.mcpServers), [name]: {command, args, env, trust: true}}
    const file = path.join(await req.scratch(), 'gemini-system-settings.json')
    await fsp.writeFile(file, JSON.stringify(settings, null, 2), {mode: 0o600})
    return {argv, env: {GEMINI_CLI_SYSTEM_SETTINGS_PATH: file}}
  },
  parser(onBlock) {
    let sessionId: string | undefined
    let all = ''
    let block = ''
    let result: Record<string, unknown> | undefined
    const close = () => {
      if (block.trim() !== '') onBlock(block)
      block = ''
    }
    return {
      event(e) {
        if (e.type === 'init') sessionId = str(e.session_id) ?? sessionId
        else if (e.type === 'message' && e.role === 'assistant') {
          const t = str(e.content) ?? ''
          all += t
          block += t
          return
        } else if (e.type === 'result') result = e
        if (e.type !== 'message') close()
      },
      finish(end) {
        close()
        if (end.code !== 0 && REFUSED.test(end.stderr)) return {resumeRefused: true, error: 'gemini: could not resume that session'}
        if (result && result.status !== 'success') {
          const err = obj(result.error)
          return {sessionId, error: `gemini result ${String(result.status)}${err ? `: ${str(err.message) ?? ''}` : ''}`}
        }
        const bad = exitFailure(end, 'gemini')
        if (bad) return {sessionId, error: bad}
        if (!result) return {sessionId, error: 'gemini ended without a result event'}
        return {sessionId, text: all}
      },
    }
  },
}
