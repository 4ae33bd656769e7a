import type {Hook} from '@oclif/core'
import {closest, distance} from 'fastest-levenshtein'
import {ExitCode} from '../lib/errors.js'

/**
 * A mistyped command gets a did-you-mean, with and without a TTY, and exits 2 (usage) like
 * every other usage error; with --json it prints the same one error document as the commands.
 * (@oclif/plugin-not-found was tried: without a TTY it prints no suggestion and exits 127.)
 */
const hook: Hook<'command_not_found'> = async function (opts) {
  const bin = opts.config.bin
  const visible = opts.config.commands.filter((c) => !c.hidden)
  const ids = [...visible.map((c) => c.id), ...visible.flatMap((c) => c.aliases)]
  const typed = opts.id.split(':').join(' ')
  // oclif folds positional arguments into the id ("confg get channels" -> confg:get:channels):
  // try the longest prefix that is close to a command, and keep the rest as its arguments.
  const parts = opts.id.split(':')
  let suggestion: string | undefined
  let rest: string[] = []
  for (let n = parts.length; n > 0 && !suggestion; n--) {
    suggestion = suggest(parts.slice(0, n).join(':'), ids)
    rest = parts.slice(n)
  }
  const pretty = suggestion ? [...suggestion.split(':'), ...rest].join(' ') : undefined
  const message = `"${typed}" is not a ${bin} command`
  const fix = pretty ? `Did you mean \`${bin} ${pretty}\`? Run \`${bin} ${suggestion!.split(":").join(" ")} --help\` for its usage.` : `Run \`${bin} --help\` for the list of commands.`
  const argv = opts.argv ?? []
  if (argv.includes('--json') || process.env.REMOTECLAW_CONTENT_TYPE === 'json') {
    process.stdout.write(JSON.stringify({error: {code: 'command_not_found', message, fix, exitCode: ExitCode.USAGE, ...(suggestion ? {details: {suggestion: pretty}} : {})}}, null, 2) + '\n')
  } else {
    process.stderr.write(`Error: ${message}\nFix: ${fix}\n`)
  }
  process.exitCode = ExitCode.USAGE
}

/** The closest command id, when it is close enough to be what was meant. */
export function suggest(id: string, ids: string[]): string | undefined {
  if (ids.length === 0) return undefined
  // "confg" alone (a mistyped topic): compare against the topics too, then pick its first command.
  const candidates = [...new Set([...ids, ...ids.map((i) => i.split(':')[0]!)])]
  const best = closest(id, candidates)
  if (distance(id, best) > Math.max(2, Math.floor(id.length / 3))) return undefined
  if (ids.includes(best)) return best
  const rest = id.split(':').slice(1).join(':')
  const inTopic = ids.filter((i) => i.startsWith(best + ':'))
  if (rest !== '' && inTopic.length > 0) return closest(`${best}:${rest}`, inTopic)
  return best
}

export default hook
