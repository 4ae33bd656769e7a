import fs from 'node:fs/promises'
import path from 'node:path'
import {build, parse, type PlistValue} from 'plist'
import type {Context} from '../context.js'
import {CommandRunner} from './exec.js'
import {MARKER, type ServiceBackend, type ServiceStatus} from './service.js'
import type {ServiceSpec} from './spec.js'

/** launchd restarts a crashed gateway no sooner than this (seconds). */
export const THROTTLE_INTERVAL_S = 10
/** SIGTERM to SIGKILL: the gateway drains in-flight turns for up to 30 s. */
export const EXIT_TIMEOUT_S = 45

/** The LaunchAgent plist; `plist` builds the XML, a comment marks it as ours. */
export function renderPlist(spec: ServiceSpec): string {
  const dict: Record<string, PlistValue> = {
    Label: spec.label,
    ProgramArguments: spec.programArguments,
    EnvironmentVariables: spec.env,
    WorkingDirectory: spec.stateDir,
    RunAtLoad: true,
    // Restart only when it failed: a clean exit (SIGTERM, `gateway stop`) stays stopped.
    KeepAlive: {SuccessfulExit: false},
    ThrottleInterval: THROTTLE_INTERVAL_S,
    ExitTimeOut: EXIT_TIMEOUT_S,
    ProcessType: 'Interactive',
    Umask: 0o077,
    StandardOutPath: spec.stdoutPath,
    StandardErrorPath: spec.stderrPath,
  }
  const xml = build(dict)
  return xml.replace('<plist version="1.0">', `<!-- ${MARKER}; remove it with: remoteclaw gateway uninstall -->\n<plist version="1.0">`) + '\n'
}

export function parsePlist(text: string): Record<string, unknown> {
  return parse(text) as Record<string, unknown>
}

/** Facts from `launchctl print gui/<uid>/<label>` (top-level keys only). */
export function parseLaunchctlPrint(text: string): {state?: string; pid?: number; lastExit?: string} {
  // Nested blocks ({ ... }) are indented further; the service's own keys sit at one tab.
  const top = text.split('\n').filter((l) => /^\t[a-z]/.test(l) || /^ {4}[a-z]/.test(l))
  const get = (key: string) => top.map((l) => new RegExp(`^\\s*${key} = (.*)$`).exec(l)?.[1]?.trim()).find((v) => v !== undefined)
  const pid = get('pid')
  return {state: get('state'), pid: pid && /^\d+$/.test(pid) ? Number(pid) : undefined, lastExit: get('last exit code')}
}

export class LaunchdService implements ServiceBackend {
  readonly kind = 'launchd' as const
  readonly file: string
  readonly domain: string
  readonly target: string

  constructor(
    private readonly ctx: Pick<Context, 'home' | 'spawn' | 'env' | 'uid'>,
    readonly label: string,
  ) {
    this.file = path.join(ctx.home, 'Library', 'LaunchAgents', `${label}.plist`)
    this.domain = `gui/${ctx.uid ?? 0}`
    this.target = `${this.domain}/${label}`
  }

  render(spec: ServiceSpec): string {
    return renderPlist(spec)
  }

  /** ProgramArguments of the installed plist (the binary macOS grants permissions to is [0]). */
  async programArguments(): Promise<string[] | undefined> {
    try {
      const v = parsePlist(await fs.readFile(this.file, 'utf8')).ProgramArguments
      return Array.isArray(v) ? v.map(String) : undefined
    } catch {
      return undefined
    }
  }

  async status(run: CommandRunner): Promise<ServiceStatus> {
    const base = await fileFacts(this.file)
    const r = await run.query(['launchctl', 'print', this.target])
    if (r.exitCode !== 0) return {...base, manager: this.kind, name: this.label, loaded: false, running: false}
    const p = parseLaunchctlPrint(r.stdout)
    const lastExit = p.lastExit && /^-?\d+$/.test(p.lastExit) ? Number(p.lastExit) : undefined
    return {
      ...base,
      manager: this.kind,
      name: this.label,
      loaded: true,
      running: p.state === 'running' && p.pid !== undefined,
      pid: p.pid,
      state: p.state,
      lastExitStatus: lastExit,
    }
  }

  async activate(run: CommandRunner, wasLoaded: boolean): Promise<void> {
    // bootout first on a reinstall: bootstrap of a loaded label fails ("service already loaded").
    if (wasLoaded) await run.must(['launchctl', 'bootout', this.target], `Unload it by hand (launchctl bootout ${this.target}) and run the command again.`)
    // A label once disabled (launchctl disable) refuses bootstrap until enabled.
    await run.must(['launchctl', 'enable', this.target], `Check that you are logged in to this Mac's GUI session as this user (launchd's ${this.domain} domain).`)
    await run.must(['launchctl', 'bootstrap', this.domain, this.file], bootstrapFix(this))
  }

  async deactivate(run: CommandRunner, loaded: boolean): Promise<void> {
    if (loaded) await run.must(['launchctl', 'bootout', this.target], `Check it with: launchctl print ${this.target}`)
  }

  async start(run: CommandRunner, s: ServiceStatus): Promise<void> {
    if (!s.loaded) await run.must(['launchctl', 'bootstrap', this.domain, this.file], bootstrapFix(this))
    else await run.must(['launchctl', 'kickstart', this.target], `Check it with: launchctl print ${this.target}`)
  }

  async stop(run: CommandRunner, s: ServiceStatus): Promise<void> {
    // bootout sends SIGTERM and waits (ExitTimeOut); RunAtLoad starts it again at the next login.
    await this.deactivate(run, s.loaded)
  }

  async restart(run: CommandRunner, s: ServiceStatus): Promise<void> {
    if (!s.loaded) await run.must(['launchctl', 'bootstrap', this.domain, this.file], bootstrapFix(this))
    else await run.must(['launchctl', 'kickstart', '-k', this.target], `Check it with: launchctl print ${this.target}`)
  }
}

function bootstrapFix(s: LaunchdService): (r: {stderr: string}) => string {
  return (r) =>
    /input\/output error|: 5:/i.test(r.stderr)
      ? `launchd refused ${s.file}: check it with \`plutil -lint ${s.file}\`, that you are in this user's GUI session (not over SSH without a login), and that ${s.target} is not loaded already (launchctl bootout ${s.target}); then run the command again.`
      : `Check ${s.file} (plutil -lint) and that you are in this user's GUI session; then run the command again.`
}

export async function fileFacts(file: string): Promise<Pick<ServiceStatus, 'installed' | 'file' | 'ours'>> {
  try {
    const text = await fs.readFile(file, 'utf8')
    return {installed: true, file, ours: text.includes(MARKER)}
  } catch {
    return {installed: false, file}
  }
}
