import path from 'node:path'
import type {Context} from '../context.js'
import {CommandRunner} from './exec.js'
import {fileFacts} from './launchd.js'
import {MARKER, type ServiceBackend, type ServiceStatus} from './service.js'
import type {ServiceSpec} from './spec.js'

export const RESTART_SEC = 10
/** SIGTERM to SIGKILL: the gateway drains in-flight turns for up to 30 s. */
export const TIMEOUT_STOP_SEC = 45

/**
 * One systemd word: quoted when needed, with `\` and `"` escaped, `%` doubled (specifiers) and,
 * in ExecStart, `$` doubled (variable expansion).
 */
export function systemdQuote(value: string, opts: {exec?: boolean} = {}): string {
  let v = value.replace(/%/g, '%%')
  if (opts.exec) v = v.replace(/\$/g, '$$$$')
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(v)) return v
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** A path setting (WorkingDirectory=, append:): no quoting there, only specifiers escaped. */
function pathValue(p: string): string {
  return p.replace(/%/g, '%%')
}

export function renderUnit(spec: ServiceSpec): string {
  const env = Object.entries(spec.env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`)
  return [
    `# ${MARKER}; remove it with: remoteclaw gateway uninstall`,
    '[Unit]',
    `Description=RemoteClaw iMessage gateway (state dir ${spec.stateDir.replace(/%/g, '%%')})`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${spec.programArguments.map((a) => systemdQuote(a, {exec: true})).join(' ')}`,
    `WorkingDirectory=${pathValue(spec.stateDir)}`,
    ...env,
    // Restart only when it failed: a clean exit (SIGTERM, `gateway stop`) stays stopped.
    'Restart=on-failure',
    `RestartSec=${RESTART_SEC}`,
    // SIGTERM to the gateway only: it drains running agent turns and closes imsg itself.
    'KillMode=mixed',
    `TimeoutStopSec=${TIMEOUT_STOP_SEC}`,
    'UMask=0077',
    `StandardOutput=append:${pathValue(spec.stdoutPath)}`,
    `StandardError=append:${pathValue(spec.stderrPath)}`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n')
}

/** Parses a unit file: section -> key -> values (in order; keys may repeat). */
export function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {}
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const sec = /^\[(.+)\]$/.exec(line)
    if (sec) {
      section = sec[1]!
      out[section] ??= {}
      continue
    }
    const i = line.indexOf('=')
    if (i < 0) continue
    const key = line.slice(0, i).trim()
    const s = (out[section] ??= {})
    ;(s[key] ??= []).push(line.slice(i + 1).trim())
  }
  return out
}

/** Splits a systemd command line / Environment value into words (quotes and backslash escapes). */
export function splitSystemdWords(value: string): string[] {
  const words: string[] = []
  let i = 0
  while (i < value.length) {
    while (value[i] === ' ') i++
    if (i >= value.length) break
    let w = ''
    if (value[i] === '"') {
      i++
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\') i++
        w += value[i++]
      }
      i++
    } else {
      while (i < value.length && value[i] !== ' ') w += value[i++]
    }
    words.push(w.replace(/%%/g, '%'))
  }
  return words
}

export function parseShow(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const l of text.split('\n')) {
    const i = l.indexOf('=')
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1).trim()
  }
  return out
}

const BUS_FIX =
  'systemctl --user needs your login session: log in as this user (ssh user@host, not su or sudo), or enable lingering (loginctl enable-linger $USER) and set XDG_RUNTIME_DIR=/run/user/$(id -u); then run the command again.'

export class SystemdService implements ServiceBackend {
  readonly kind = 'systemd' as const
  readonly file: string
  readonly unit: string

  constructor(
    private readonly ctx: Pick<Context, 'home' | 'spawn' | 'env' | 'uid'>,
    readonly label: string,
  ) {
    const xdg = ctx.env.XDG_CONFIG_HOME
    const config = xdg && path.isAbsolute(xdg) ? xdg : path.join(ctx.home, '.config')
    this.unit = `${label}.service`
    this.file = path.join(config, 'systemd', 'user', this.unit)
  }

  render(spec: ServiceSpec): string {
    return renderUnit(spec)
  }

  private fix(r: {stderr: string}, otherwise: string): string {
    return /bus|XDG_RUNTIME_DIR|No medium found/i.test(r.stderr) ? BUS_FIX : otherwise
  }

  async status(run: CommandRunner): Promise<ServiceStatus> {
    const base = await fileFacts(this.file)
    const r = await run.query(['systemctl', '--user', 'show', this.unit, '--property=LoadState,ActiveState,SubState,MainPID,ExecMainStatus,ExecMainCode,UnitFileState,Result'])
    if (r.exitCode !== 0) {
      return {...base, manager: this.kind, name: this.unit, loaded: false, running: false, state: `unknown (systemctl --user: ${r.stderr.trim().split('\n')[0] ?? 'failed'})`}
    }
    const p = parseShow(r.stdout)
    const pid = Number(p.MainPID ?? 0)
    const active = p.ActiveState ?? 'unknown'
    const loaded = p.LoadState === 'loaded' && (p.UnitFileState === 'enabled' || active !== 'inactive')
    const exited = p.ExecMainCode !== undefined && p.ExecMainCode !== '0'
    return {
      ...base,
      manager: this.kind,
      name: this.unit,
      loaded,
      running: active === 'active' && pid > 0,
      pid: pid > 0 ? pid : undefined,
      state: `${active}${p.SubState ? ` (${p.SubState})` : ''}`,
      lastExitStatus: exited && p.ExecMainStatus !== undefined ? Number(p.ExecMainStatus) : undefined,
      linger: await this.linger(run),
    }
  }

  /** Lingering keeps user services running after logout; undefined when loginctl cannot tell. */
  async linger(run: CommandRunner): Promise<boolean | undefined> {
    const r = await run.query(['loginctl', 'show-user', String(this.ctx.uid ?? 0), '--property=Linger'])
    if (r.exitCode !== 0) return undefined
    const v = parseShow(r.stdout).Linger
    return v === 'yes' ? true : v === 'no' ? false : undefined
  }

  userName(): string {
    return this.ctx.env.USER || this.ctx.env.LOGNAME || String(this.ctx.uid ?? '$USER')
  }

  async activate(run: CommandRunner): Promise<void> {
    await run.must(['systemctl', '--user', 'daemon-reload'], (r) => this.fix(r, `Check the unit: systemd-analyze --user verify ${this.file}`))
    await run.must(['systemctl', '--user', 'enable', '--now', this.unit], (r) =>
      this.fix(r, `See why: systemctl --user status ${this.unit} ; remoteclaw logs`),
    )
  }

  async deactivate(run: CommandRunner, loaded: boolean): Promise<void> {
    if (loaded) await run.must(['systemctl', '--user', 'disable', '--now', this.unit], (r) => this.fix(r, `Check it: systemctl --user status ${this.unit}`))
  }

  async start(run: CommandRunner): Promise<void> {
    await run.must(['systemctl', '--user', 'start', this.unit], (r) => this.fix(r, `See why: systemctl --user status ${this.unit} ; remoteclaw logs`))
  }

  async stop(run: CommandRunner): Promise<void> {
    await run.must(['systemctl', '--user', 'stop', this.unit], (r) => this.fix(r, `Check it: systemctl --user status ${this.unit}`))
  }

  async restart(run: CommandRunner): Promise<void> {
    await run.must(['systemctl', '--user', 'restart', this.unit], (r) => this.fix(r, `See why: systemctl --user status ${this.unit} ; remoteclaw logs`))
  }
}
