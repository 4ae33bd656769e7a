import fs from 'node:fs/promises'
import path from 'node:path'
import type {Context} from '../context.js'
import {NotFoundError, RemoteclawError} from '../errors.js'
import {ensureDir700} from '../util/files.js'
import writeFileAtomic from 'write-file-atomic'
import type {CommandRunner} from './exec.js'
import {LaunchdService} from './launchd.js'
import {serviceNames, type ServiceSpec} from './spec.js'
import {SystemdService} from './systemd.js'

/** In every file `gateway install` writes; a file without it is the user's and is not replaced without --force. */
export const MARKER = 'Written by remoteclaw gateway install'

export type ManagerKind = 'launchd' | 'systemd'

export interface ServiceStatus {
  manager: ManagerKind
  /** launchd label or systemd unit. */
  name: string
  file: string
  installed: boolean
  /** The file carries remoteclaw's marker. */
  ours?: boolean
  /** Known to the service manager (launchd: bootstrapped; systemd: unit loaded and enabled or active). */
  loaded: boolean
  running: boolean
  pid?: number
  /** Manager's own word (launchd state, systemd ActiveState/SubState). */
  state?: string
  /** Exit status of the last run, when it has exited. */
  lastExitStatus?: number
  /** systemd: linger off means the service stops at logout. */
  linger?: boolean
}

export interface ServiceBackend {
  readonly kind: ManagerKind
  readonly file: string
  readonly label: string
  render(spec: ServiceSpec): string
  status(run: CommandRunner): Promise<ServiceStatus>
  /** After the file is written: load and start it (wasLoaded: it was loaded before, a reinstall). */
  activate(run: CommandRunner, wasLoaded: boolean): Promise<void>
  /** Stop and unload (before a rewrite or an uninstall). */
  deactivate(run: CommandRunner, loaded: boolean): Promise<void>
  start(run: CommandRunner, s: ServiceStatus): Promise<void>
  stop(run: CommandRunner, s: ServiceStatus): Promise<void>
  restart(run: CommandRunner, s: ServiceStatus): Promise<void>
}

export interface InstallResult {
  file: string
  content: string
  replaced: boolean
  commands: string[][]
  dryRun: boolean
}

/** Writes the service file and loads it; a foreign file needs force. */
export async function installService(backend: ServiceBackend, spec: ServiceSpec, run: CommandRunner, opts: {force?: boolean}): Promise<InstallResult> {
  const content = backend.render(spec)
  const before = await backend.status(run)
  if (before.installed && !before.ours && !opts.force) {
    throw new RemoteclawError(`${backend.file} exists and was not written by remoteclaw; not replacing it`, {
      code: 'service_file_foreign',
      fix: `Look at it first; to replace it: remoteclaw gateway install --force (or move it away and run install again).`,
    })
  }
  // Stop the old one first (systemd); launchd's bootout is part of activate.
  if (backend.kind === 'systemd' && before.loaded) await backend.deactivate(run, true)
  if (!run.dryRun) {
    await fs.mkdir(path.dirname(backend.file), {recursive: true})
    await ensureDir700(path.dirname(spec.stdoutPath))
    await writeFileAtomic(backend.file, content, {mode: 0o644})
  }
  await backend.activate(run, before.loaded)
  return {file: backend.file, content, replaced: before.installed, commands: run.ran, dryRun: run.dryRun}
}

export async function uninstallService(backend: ServiceBackend, run: CommandRunner, opts: {force?: boolean}): Promise<{file: string; commands: string[][]; dryRun: boolean}> {
  const s = await backend.status(run)
  if (!s.installed && !s.loaded) throw notInstalled(backend)
  if (s.installed && !s.ours && !opts.force) {
    throw new RemoteclawError(`${backend.file} was not written by remoteclaw; not removing it`, {
      code: 'service_file_foreign',
      fix: 'Remove it yourself, or: remoteclaw gateway uninstall --force',
    })
  }
  await backend.deactivate(run, s.loaded)
  if (!run.dryRun) await fs.rm(backend.file, {force: true})
  if (backend.kind === 'systemd') await run.change(['systemctl', '--user', 'daemon-reload'])
  return {file: backend.file, commands: run.ran, dryRun: run.dryRun}
}

export function notInstalled(backend: ServiceBackend): NotFoundError {
  return new NotFoundError(`the gateway service is not installed (${backend.file} does not exist)`, {
    code: 'service_not_installed',
    fix: 'Install it: remoteclaw gateway install',
  })
}

/** The backend for this platform, or a clear "not supported" with what to do instead. */
export function serviceBackend(ctx: Pick<Context, 'platform' | 'home' | 'spawn' | 'env' | 'uid' | 'stateDir'>): ServiceBackend {
  const {label, unitName} = serviceNames(ctx)
  if (ctx.platform === 'darwin') {
    return new LaunchdService(ctx, label)
  }
  if (ctx.platform === 'linux') {
    return new SystemdService(ctx, unitName)
  }
  throw new RemoteclawError(`running the gateway as a service is not supported on ${ctx.platform} (launchd on macOS and systemd on Linux are)`, {
    code: 'service_unsupported',
    fix: 'Run it in the foreground under your own supervisor (remoteclaw gateway; it exits 0 on SIGTERM and non-zero on failure, so restart it on failure only), or run it on a Mac or a Linux host.',
  })
}

export type ControlAction = 'start' | 'stop' | 'restart'

export interface ControlResult {
  action: ControlAction
  /** False when there was nothing to do (start of a running service, stop of a stopped one). */
  changed: boolean
  before: ServiceStatus
  after: ServiceStatus
  commands: string[][]
}

/** start | stop | restart through the service manager; exit 4 when nothing is installed. */
export async function controlService(backend: ServiceBackend, run: CommandRunner, action: ControlAction): Promise<ControlResult> {
  const before = await backend.status(run)
  if (!before.installed && !before.loaded) throw notInstalled(backend)
  let changed = true
  if (action === 'start' && before.running) changed = false
  else if (action === 'stop' && !before.running && !before.loaded) changed = false
  else await backend[action](run, before)
  const after = changed ? await backend.status(run) : before
  return {action, changed, before, after, commands: run.ran}
}
