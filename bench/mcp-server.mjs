// Cost of the agent tools' MCP server per agent turn: each round starts `node dist/mcp-server.js`
// the way an agent CLI does and times it to the end of the MCP handshake (initialize) and to a
// tools/list answered by a stub gateway socket, next to bare `node -e 0`. Prints medians (ms).
// Usage: npm run build && node bench/mcp-server.mjs [rounds]
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const entry = path.join(root, 'dist', 'mcp-server.js')
const rounds = Number(process.argv[2] ?? 10)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-mcp-bench-'))
const socket = path.join(dir, 's.sock')
// a stub gateway: answers every request with an empty tool list
const server = net.createServer((c) => c.once('data', () => c.end(JSON.stringify({ok: true, tools: []}) + '\n')))
await new Promise((r) => server.listen(socket, r))

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const bare = [], init = [], list = []
for (let i = 0; i < rounds; i++) {
  let t = performance.now()
  spawnSync(process.execPath, ['-e', '0'])
  bare.push(performance.now() - t)
  t = performance.now()
  const client = new Client({name: 'bench', version: '1'})
  await client.connect(new StdioClientTransport({command: process.execPath, args: [entry], env: {REMOTECLAW_TOOLS_SOCKET: socket, REMOTECLAW_TOOLS_TOKEN: 'x'}}))
  init.push(performance.now() - t)
  await client.listTools()
  list.push(performance.now() - t)
  await client.close()
}
server.close()
fs.rmSync(dir, {recursive: true, force: true})
console.log(`rounds: ${rounds}`)
console.log(`node -e 0:                         ${median(bare).toFixed(0)} ms`)
console.log(`mcp-server.js to initialized:      ${median(init).toFixed(0)} ms (${(median(init) / median(bare)).toFixed(1)}x bare node)`)
console.log(`mcp-server.js to first tools/list: ${median(list).toFixed(0)} ms`)
