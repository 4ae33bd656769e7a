import {Server} from '@modelcontextprotocol/sdk/server/index.js'
import {CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError} from '@modelcontextprotocol/sdk/types.js'
import {MCP_SERVER_NAME, type EndpointRequest, type EndpointResponse} from './protocol.js'
import {callEndpoint, EndpointUnreachableError} from './socket-client.js'

/**
 * The MCP side of the agent tools: a stdio MCP server that knows nothing but the socket and the
 * turn's token. The tool list and every decision come from the gateway (ToolEndpoint), so
 * there is no second copy of the imsg client, the access rules or the outbound path here.
 * Keep the imports to the SDK and ./protocol + ./socket-client: this starts once per agent run.
 */
export interface McpProxyOptions {
  socketPath: string
  token: string
  /** Per call; a send may wait for the rate limit, the gateway answers within ~30 s. */
  timeoutMs?: number
}

export function createMcpProxy(o: McpProxyOptions): Server {
  const timeoutMs = o.timeoutMs ?? 120_000
  const server = new Server({name: MCP_SERVER_NAME, version: '1'}, {capabilities: {tools: {}}})
  const ask = (req: EndpointRequest): Promise<EndpointResponse> => callEndpoint(o.socketPath, req, timeoutMs)

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    let res: EndpointResponse
    try {
      res = await ask({v: 1, token: o.token, op: 'list'})
    } catch (error) {
      throw new McpError(ErrorCode.InternalError, (error as Error).message)
    }
    if (!res.ok) throw new McpError(ErrorCode.InvalidRequest, res.error.message)
    if (!('tools' in res)) throw new McpError(ErrorCode.InternalError, 'the gateway answered a tool list request with something else')
    return {tools: res.tools}
  })

  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    let res: EndpointResponse
    try {
      res = await ask({v: 1, token: o.token, op: 'call', tool: request.params.name, args: request.params.arguments ?? {}})
    } catch (error) {
      // A tool error the model can read, not a protocol failure that may end the agent's run.
      const text = error instanceof EndpointUnreachableError ? error.message : `tool call failed: ${(error as Error).message}`
      return {content: [{type: 'text', text}], isError: true}
    }
    if (!res.ok) return {content: [{type: 'text', text: res.error.message}], isError: true}
    if (!('result' in res)) return {content: [{type: 'text', text: 'the gateway answered a tool call with something else'}], isError: true}
    return {content: [{type: 'text', text: res.result.text}], isError: res.result.isError}
  })
  return server
}
