import fs from 'node:fs/promises'
import path from 'node:path'
import type {Context} from '../context.js'
import {parsePlist} from './launchd.js'
import {serviceNames} from './spec.js'

/** The LaunchAgent that runs (or will run) the gateway of this state dir, as its plist says. */
export interface LaunchAgentContext {
  label: string
  file: string
  /** ProgramArguments[0]: the binary macOS attributes the gateway's file reads and Apple events to. */
  program: string
}

export function launchAgentFile(home: string, label: string): string {
  return path.join(home, 'Library', 'LaunchAgents', `${label}.plist`)
}

/** Reads the installed plist of this state dir's service; undefined when none is installed (or not macOS). */
export async function launchAgentContext(ctx: Pick<Context, 'home' | 'stateDir' | 'platform'>): Promise<LaunchAgentContext | undefined> {
  if (ctx.platform !== 'darwin') return undefined
  const {label} = serviceNames(ctx)
  const file = launchAgentFile(ctx.home, label)
  try {
    const args = parsePlist(await fs.readFile(file, 'utf8')).ProgramArguments
    if (!Array.isArray(args) || typeof args[0] !== 'string') return undefined
    return {label, file, program: args[0]}
  } catch {
    return undefined
  }
}
