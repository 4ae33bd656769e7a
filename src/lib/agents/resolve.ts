import {AGENT_DEFAULTS, SESSION_DEFAULTS, type AgentConfig, type RemoteclawConfig} from '../config/schema.js'

/** Id of the built-in echo agent used when agents.list is empty. */
export const BUILTIN_AGENT_ID = 'main'

export type AgentRuntime = NonNullable<AgentConfig['runtime']>

/** An agent with defaults applied and where its keys live (for messages that name a key). */
export interface ResolvedAgent {
  id: string
  name?: string
  runtime: AgentRuntime
  command?: string[]
  args: string[]
  cwd?: string
  env: Record<string, string>
  timeoutMs: number
  input: 'json' | 'text'
  output: 'text' | 'json'
  errorReply?: string
  streaming: 'off' | 'block'
  /** agents.list[].session over `session` over the defaults. */
  session: AgentSessionSettings
  /** The agent's groupChat.mentionPatterns, else messages.groupChat.mentionPatterns, else []. */
  mentionPatterns: string[]
  /** "agents.list[0]", or "(built-in)" for the echo fallback. */
  keyPath: string
  builtin: boolean
}

export interface AgentSessionSettings {
  idleMinutes: number
  dmScope: 'main' | 'per-sender'
  /** Where dmScope came from, for messages that name the key. */
  dmScopeKey: string
}

export function sessionSettings(config: RemoteclawConfig, agent?: AgentConfig, keyPath?: string): AgentSessionSettings {
  const own = agent?.session
  const dmScopeKey = own?.dmScope !== undefined && keyPath ? `${keyPath}.session.dmScope` : 'session.dmScope'
  return {
    idleMinutes: own?.idleMinutes ?? config.session?.idleMinutes ?? SESSION_DEFAULTS.idleMinutes,
    dmScope: own?.dmScope ?? config.session?.dmScope ?? SESSION_DEFAULTS.dmScope,
    dmScopeKey,
  }
}

export interface ResolvedAgents {
  agents: ResolvedAgent[]
  defaultAgent: ResolvedAgent
  /** Startup warnings (no agent configured, several defaults, ...). */
  warnings: string[]
}

export function resolveAgent(agent: AgentConfig, index: number, config: RemoteclawConfig): ResolvedAgent {
  return {
    id: agent.id,
    name: agent.name,
    runtime: agent.runtime ?? AGENT_DEFAULTS.runtime,
    command: agent.command ? [...agent.command] : undefined,
    args: [...(agent.args ?? [])],
    cwd: agent.cwd,
    env: {...(agent.env ?? {})},
    timeoutMs: agent.timeoutMs ?? AGENT_DEFAULTS.timeoutMs,
    input: agent.input ?? AGENT_DEFAULTS.input,
    output: agent.output ?? AGENT_DEFAULTS.output,
    errorReply: agent.errorReply,
    streaming: agent.streaming ?? AGENT_DEFAULTS.streaming,
    session: sessionSettings(config, agent, `agents.list[${index}]`),
    mentionPatterns: [...(agent.groupChat?.mentionPatterns ?? config.messages?.groupChat?.mentionPatterns ?? [])],
    keyPath: `agents.list[${index}]`,
    builtin: false,
  }
}

export function builtinEchoAgent(config: RemoteclawConfig): ResolvedAgent {
  return {
    id: BUILTIN_AGENT_ID,
    runtime: 'echo',
    args: [],
    env: {},
    timeoutMs: AGENT_DEFAULTS.timeoutMs,
    input: 'json',
    output: 'text',
    streaming: 'off',
    session: sessionSettings(config),
    mentionPatterns: [...(config.messages?.groupChat?.mentionPatterns ?? [])],
    keyPath: '(built-in)',
    builtin: true,
  }
}

/**
 * agents.list with defaults applied, and the default agent: the one with default:true (the
 * first of several, with a warning), else the first, else the built-in echo agent (with a
 * warning, so an operator never wonders why the bot parrots).
 */
export function resolveAgents(config: RemoteclawConfig): ResolvedAgents {
  const list = config.agents?.list ?? []
  const warnings: string[] = []
  const agents = list.map((a, i) => resolveAgent(a, i, config))
  const seen = new Set<string>()
  for (const a of agents) {
    if (seen.has(a.id)) warnings.push(`${a.keyPath}: agent id "${a.id}" is used twice; routing uses the first.`)
    seen.add(a.id)
  }
  if (agents.length === 0) {
    const echo = builtinEchoAgent(config)
    warnings.push(
      `no agent configured (agents.list is empty): using the built-in echo agent "${BUILTIN_AGENT_ID}", which replies with the text it got. ` +
        `Add one with: remoteclaw config set agents.list '[{"id":"main","default":true,"runtime":"claude"}]'`,
    )
    return {agents: [echo], defaultAgent: echo, warnings}
  }
  const defaults = list.map((a, i) => (a.default ? i : -1)).filter((i) => i >= 0)
  if (defaults.length > 1) {
    warnings.push(`several agents have default: true (${defaults.map((i) => `agents.list[${i}]`).join(', ')}); using "${agents[defaults[0]!]!.id}".`)
  }
  const defaultAgent = agents[defaults[0] ?? 0]!
  return {agents, defaultAgent, warnings}
}

/** The first agent with this id. */
export function findAgent(resolved: ResolvedAgents, id: string): ResolvedAgent | undefined {
  return resolved.agents.find((a) => a.id === id)
}
