/**
 * The wire between the MCP server process (started by the agent CLI) and the gateway's
 * ToolEndpoint: one JSON object per line over a Unix socket, one request per connection.
 * Imported by the MCP process, so it depends on nothing but node.
 */

/** The server name agents see (claude: mcp__remoteclaw__send_message). */
export const MCP_SERVER_NAME = 'remoteclaw'

/** Env vars the MCP server process reads (set in the McpServerSpec the gateway hands out). */
export const SOCKET_ENV = 'REMOTECLAW_TOOLS_SOCKET'
export const TOKEN_ENV = 'REMOTECLAW_TOOLS_TOKEN'

/** A line longer than this is refused on both ends (a send_message text is far below it). */
export const MAX_LINE_BYTES = 1024 * 1024

export interface ToolDefinitionWire {
  name: string
  title: string
  description: string
  inputSchema: {type: 'object'; [key: string]: unknown}
}

export type EndpointRequest =
  | {v: 1; token: string; op: 'list'}
  | {v: 1; token: string; op: 'call'; tool: string; args: unknown}

/** What the agent sees: text, and isError for a refused or failed call. */
export interface ToolCallWire {
  text: string
  isError: boolean
}

export type EndpointResponse =
  | {ok: true; tools: ToolDefinitionWire[]}
  | {ok: true; result: ToolCallWire}
  | {ok: false; error: {code: string; message: string}}
