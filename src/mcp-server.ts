/**
 * Entry point of the agent tools' MCP server: `node <dist>/mcp-server.js`, started by the agent
 * CLI from the McpServerSpec the gateway hands out for one turn. No oclif, no config: it only
 * forwards to the gateway over REMOTECLAW_TOOLS_SOCKET with REMOTECLAW_TOOLS_TOKEN.
 */
import {StdioServerTransport} from '@modelcontextprotocol/sdk/server/stdio.js'
import {createMcpProxy} from './lib/tools/mcp-proxy.js'
import {SOCKET_ENV, TOKEN_ENV} from './lib/tools/protocol.js'

const socketPath = process.env[SOCKET_ENV]
const token = process.env[TOKEN_ENV]
if (!socketPath || !token) {
  // stdout is the MCP channel: diagnostics go to stderr, which the agent CLI logs.
  process.stderr.write(
    `remoteclaw MCP server: ${SOCKET_ENV} and ${TOKEN_ENV} must be set; the gateway sets both for each agent turn (it is not meant to be started by hand)\n`,
  )
  process.exit(2)
}
const server = createMcpProxy({socketPath, token})
await server.connect(new StdioServerTransport())
