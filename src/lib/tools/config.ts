import type {AgentToolsConfig, RemoteclawConfig} from '../config/schema.js'
import {AGENT_TOOLS_DEFAULTS, SCHEDULES_DEFAULTS} from '../config/schema.js'
import type {ResolvedScheduleConfig} from './schedule-runner.js'
import {TOOL_NAMES, type ResolvedToolsConfig} from './types.js'

/** agents.list[].tools with defaults applied. */
export function resolveToolsConfig(raw: AgentToolsConfig | undefined): ResolvedToolsConfig {
  return {
    enabled: raw?.enabled ?? AGENT_TOOLS_DEFAULTS.enabled,
    allow: raw?.allow ? TOOL_NAMES.filter((n) => raw.allow!.includes(n)) : [...TOOL_NAMES],
    sendTargets: [...(raw?.sendTargets ?? AGENT_TOOLS_DEFAULTS.sendTargets)],
  }
}

/** The `schedules` keys with defaults applied. */
export function resolveScheduleConfig(config: RemoteclawConfig): ResolvedScheduleConfig {
  const s = config.schedules ?? {}
  return {
    missed: s.missed ?? SCHEDULES_DEFAULTS.missed,
    missedGraceMinutes: s.missedGraceMinutes ?? SCHEDULES_DEFAULTS.missedGraceMinutes,
    maxPendingPerChat: s.maxPendingPerChat ?? SCHEDULES_DEFAULTS.maxPendingPerChat,
    ...(s.quietHours ? {quietHours: {...s.quietHours}} : {}),
    ...(s.timezone ? {timezone: s.timezone} : {}),
  }
}
