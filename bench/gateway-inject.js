#!/usr/bin/env node
// Helper process of bench/gateway.js: writes inbound DM rows into the simulator's chat.db at a
// steady rate, the way Messages does (through the simulator's own Writer), so the gateway under
// test does not share its event loop with the load generator.
// argv: <db> <count> <senders> <ratePerSecond>
import {openForWrite, Writer, localAccount} from '../dist/sim/db.js'

const [db, countArg, sendersArg, rateArg] = process.argv.slice(2)
const count = Number(countArg)
const senders = Number(sendersArg)
const rate = Number(rateArg)
const handle = (i) => `+1555${String(2000000 + i).padStart(7, '0')}`

const conn = openForWrite(db)
const w = new Writer(conn, localAccount(process.env))
const chats = conn.transaction(() => {
  const out = []
  for (let s = 0; s < senders; s++) {
    const h = handle(s)
    out.push({chatId: w.directChat(h, 'iMessage'), handleRowId: w.handle(h, 'iMessage')})
  }
  return out
})()
process.stdout.write(JSON.stringify({ready: true}) + '\n')

const t0 = Date.now()
let i = 0
const tick = () => {
  const due = Math.min(count, Math.floor(((Date.now() - t0) / 1000) * rate) + 1)
  if (due > i) {
    conn.transaction(() => {
      while (i < due) {
        const s = i % senders
        w.insertMessage({chatIds: [chats[s].chatId], text: `bench ${i}`, handleRowId: chats[s].handleRowId, service: 'iMessage', isFromMe: false, dateMs: Date.now()})
        i++
      }
    })()
  }
  if (i < count) setTimeout(tick, 50) // ~20 commits a second, as a busy Messages would
  else {
    conn.close()
    process.stdout.write(JSON.stringify({done: true, ms: Date.now() - t0}) + '\n')
  }
}
setTimeout(tick, 0)
