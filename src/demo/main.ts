/**
 * `npm run demo`: the whole gateway flow on the bundled imsg simulator, no Mac needed.
 * An unknown sender gets a pairing code, the operator lists and approves it with the real CLI,
 * the sender is answered by a `command` agent, and a group message is ignored until the bot is
 * mentioned. Prints a transcript; exits 0 when every step happened, 1 otherwise.
 */
import {execa, type ResultPromise} from 'execa'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const RUN_JS = path.join(ROOT, 'bin', 'run.js')
const SIM = path.join(ROOT, 'bin', 'imsg-sim')
const AGENT = path.join(ROOT, 'examples', 'agents', 'echo-agent.mjs')
const STEP_TIMEOUT_MS = 20_000

const ANA = '+15550100001'
const BEN = '+15550100002'

interface LogLine {
  level: string
  scope?: string
  msg: string
  [k: string]: unknown
}

interface SentRow {
  id: number
  chat_id: number
  text: string
}

const color = process.stdout.isTTY && !process.env.NO_COLOR
const dim = (s: string) => (color ? `\u001B[2m${s}\u001B[22m` : s)
const bold = (s: string) => (color ? `\u001B[1m${s}\u001B[22m` : s)

function say(line = ''): void {
  process.stdout.write(line + '\n')
}

class DemoFailure extends Error {}

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remoteclaw-demo-'))
  const db = path.join(dir, 'chat.db')
  const env = {HOME: dir, REMOTECLAW_STATE_DIR: dir, NO_COLOR: '1', REMOTECLAW_CONFIG_PATH: undefined}
  const logs: LogLine[] = []
  let gateway: ResultPromise | undefined
  let step = 0

  const sim = async (args: string[], input?: string) => {
    const r = await execa(SIM, [...args, '--db', db], {env, reject: false, input})
    if (r.exitCode !== 0) throw new DemoFailure(`imsg-sim ${args[0]} failed: ${r.stdout} ${r.stderr}`)
    return String(r.stdout)
  }
  const sent = async () => JSON.parse(await sim(['sent', '--json'])) as SentRow[]
  const waitFor = async <T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> => {
    const end = Date.now() + STEP_TIMEOUT_MS
    for (;;) {
      const v = await fn()
      if (v !== undefined) return v
      if (Date.now() > end) throw new DemoFailure(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const replyAfter = async (count: number, who: string) => {
    const rows = await waitFor(`the bot's reply to ${who}`, async () => {
      const s = await sent()
      return s.length > count ? s : undefined
    })
    for (const r of rows.slice(count)) say(`      ${bold('bot')} → ${who}: "${r.text}"`)
    return rows
  }
  const cli = async (args: string[]) => {
    say(`  ${dim('$')} remoteclaw ${args.join(' ')}`)
    const r = await execa(process.execPath, [RUN_JS, ...args], {env, reject: false})
    for (const l of String(r.stdout).split('\n').filter(Boolean)) say(`      ${l}`)
    if (r.exitCode !== 0) throw new DemoFailure(`remoteclaw ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`)
    return String(r.stdout)
  }
  const heading = (text: string) => {
    step++
    say()
    say(bold(`${step}. ${text}`))
  }

  try {
    say(bold('remoteclaw demo: the iMessage gateway on the bundled imsg simulator (no Mac needed)'))
    say(dim(`state dir ${dir}; imsg = ${path.relative(process.cwd(), SIM) || SIM}; agent = node ${path.relative(process.cwd(), AGENT)}`))
    await sim(['init'])
    const config = {
      channels: {
        imessage: {
          cliPath: SIM,
          dbPath: db,
          dmPolicy: 'pairing',
          groupPolicy: 'open',
          groups: {'*': {requireMention: true}},
        },
      },
      agents: {
        list: [{id: 'main', default: true, runtime: 'command', command: [process.execPath, AGENT], timeoutMs: 10_000, groupChat: {mentionPatterns: ['@bot\\b']}}],
      },
    }
    fs.writeFileSync(path.join(dir, 'remoteclaw.json'), JSON.stringify(config, null, 2) + '\n', {mode: 0o600})

    heading('Start the gateway')
    say(`  ${dim('$')} remoteclaw gateway`)
    gateway = execa(process.execPath, [RUN_JS, 'gateway', '--log-format', 'json'], {
      env: {...env, REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({debounceMs: 20})},
      reject: false,
      buffer: false,
      stdin: 'ignore',
    })
    let buf = ''
    gateway.stderr?.setEncoding('utf8')
    gateway.stderr?.on('data', (chunk: string) => {
      buf += chunk
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        try {
          logs.push(JSON.parse(line) as LogLine)
        } catch {
          logs.push({level: 'raw', msg: line})
        }
      }
    })
    gateway.stdout?.resume()
    const running = await waitFor('the gateway to start', () => logs.find((l) => /imsg rpc running/.test(l.msg)))
    say(`      ${dim('log:')} ${running.msg}`)

    heading('An unknown sender writes and gets a pairing code')
    say(`      Ana (${ANA}) → bot: "Hi, who is this?"`)
    await sim(['inject', '--from', ANA, '--text', 'Hi, who is this?'])
    const afterPairing = await replyAfter(0, 'Ana')
    const code = /pairing code: ([A-Z2-9]{8})/.exec(afterPairing[0]!.text)?.[1]
    if (!code) throw new DemoFailure('the first reply carries no pairing code')

    heading('The operator lists and approves the request')
    const list = await cli(['pairing', 'list', 'imessage'])
    if (!list.includes(code)) throw new DemoFailure('`pairing list` does not show the code')
    await cli(['pairing', 'approve', 'imessage', code])

    heading('Ana writes again and the agent answers')
    say(`      Ana → bot: "What can you do?"`)
    await sim(['inject', '--from', ANA, '--text', 'What can you do?'])
    const afterAnswer = await replyAfter(1, 'Ana')
    if (!afterAnswer[1]!.text.includes('What can you do?')) throw new DemoFailure('the agent reply is not the expected one')

    heading('A group message without a mention is ignored (and logged with the key that would change it)')
    const g = JSON.parse(await sim(['inject', '--from', BEN, '--text', 'Anyone up for a hike on Saturday?', '--group', 'Weekend', '--participants', `${ANA},${BEN}`, '--json'])) as {chat_id: number}
    say(`      Ben (${BEN}) → group "Weekend" (chat ${g.chat_id}): "Anyone up for a hike on Saturday?"`)
    const ignored = await waitFor('the not-addressed log line', () => logs.find((l) => /not addressed to the bot/.test(l.msg)))
    say(`      ${dim('log:')} ${ignored.msg}`)
    await new Promise((r) => setTimeout(r, 300))
    if ((await sent()).length !== 2) throw new DemoFailure('the bot answered a group message that did not mention it')

    heading('A group message with a mention is answered (with the earlier message as context)')
    say(`      Ana → group "Weekend": "@bot what do you think?"`)
    await sim(['inject', '--from', ANA, '--text', '@bot what do you think?', '--chat-id', String(g.chat_id)])
    const afterGroup = await replyAfter(2, 'group "Weekend"')
    if (afterGroup[2]!.chat_id !== g.chat_id) throw new DemoFailure('the group reply went to another chat')

    heading('Stop the gateway (SIGTERM: finishes in-flight work, closes imsg, exit 0)')
    gateway.kill('SIGTERM')
    const r = await gateway
    gateway = undefined
    say(`      gateway exited with code ${r.exitCode}`)
    if (r.exitCode !== 0) throw new DemoFailure(`the gateway exited with ${r.exitCode}`)
    say()
    say(bold('demo passed: pairing, approval, agent reply, group mention gating.'))
    fs.rmSync(dir, {recursive: true, force: true})
    return 0
  } catch (error) {
    say()
    say(bold(`demo FAILED at step ${step}: ${(error as Error).message}`))
    say(dim('gateway log:'))
    for (const l of logs.slice(-30)) say(dim(`  ${l.level} ${l.scope ?? ''} ${l.msg}`))
    say(dim(`state kept for inspection in ${dir}`))
    return 1
  } finally {
    if (gateway) {
      gateway.kill('SIGKILL')
      await gateway.catch(() => {})
    }
  }
}

process.exitCode = await main()
