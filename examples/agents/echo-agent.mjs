#!/usr/bin/env node
// A minimal `command` agent: reads the JSON turn on stdin, prints the reply on stdout.
// Config: agents.list: [{id: "main", runtime: "command", command: ["node", "examples/agents/echo-agent.mjs"]}]
// Env: REMOTECLAW_SESSION_KEY, REMOTECLAW_CHAT, REMOTECLAW_SENDER (and REMOTECLAW_CHANNEL, REMOTECLAW_ACCOUNT_ID).
let raw = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (c) => (raw += c))
process.stdin.on('end', () => {
  const turn = JSON.parse(raw)
  if (/\bhang\b/i.test(turn.text)) {
    setInterval(() => {}, 1000) // never answers: the gateway's timeoutMs kills it
    return
  }
  const delay = /\bslow\b/i.test(turn.text) ? 1500 : 0 // for the graceful-stop test
  const context = turn.history.length > 0 ? ` (after ${turn.history.length} earlier message(s) in this group)` : ''
  setTimeout(() => process.stdout.write(`You said: ${turn.text}${context}\n`), delay)
})
