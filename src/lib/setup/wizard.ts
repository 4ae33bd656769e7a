import path from 'node:path'
import type {Context} from '../context.js'
import {expandHome} from '../context.js'
import {resolveAccount, resolveAccounts} from '../config/accounts.js'
import {migrateConfig} from '../config/migrate.js'
import {DEFAULT_ACCOUNT_ID} from '../config/schema.js'
import {ExitCode, RemoteclawError, UsageError} from '../errors.js'
import {diagnoseAccount, type DoctorDeps} from '../permissions/doctor.js'
import type {DoctorReport} from '../permissions/report.js'
import type {HostKey} from '../ssh/hostkey.js'
import {appendKnownHost, fetchAndLookupHostKey, knownHostName, hostKeyMismatchError} from '../ssh/known-hosts.js'
import {validateHost, validatePort, validateRemotePath, validateUser} from '../ssh/validate.js'
import {renderWrapper, writeWrapper} from '../ssh/wrapper.js'
import {applyConfigEdits, type ConfigEdit} from './config-edit.js'
import {detectEnvironment, sshResolve, type Detected, type SshResolved} from './detect.js'
import type {Prompter} from './prompter.js'
import {verifyLogin, type LoginCheck} from './login.js'

export type Deployment = 'local' | 'bot-user' | 'remote'
export const DEPLOYMENTS: Deployment[] = ['local', 'bot-user', 'remote']

/** Every answer the wizard can take as a flag (names match the command's flags). */
export interface SetupFlags {
  deployment?: Deployment
  account?: string
  sshUser?: string
  host?: string
  port?: number
  remoteImsgPath?: string
  cliPath?: string
  dbPath?: string
  identityFile?: string
  knownHosts?: string
  trustHostKey?: string
  /** Accept defaults, trust an unknown host key, confirm the write; never prompts. */
  yes?: boolean
  /** Do not run the probe and doctor at the end. */
  skipChecks?: boolean
}

export interface SetupIO {
  /** Undefined: never prompt (no TTY, --json or --yes); a missing answer is a usage error. */
  prompter?: Prompter
  /** Human output (stdout). */
  out: (line: string) => void
  /** Progress and warnings (stderr). */
  note: (line: string) => void
}

export interface SetupDeps {
  doctor: DoctorDeps
  /** Host-key fetch timeout and the like. */
  timeoutMs: number
}

/** Bump when a field of SetupResult (the --json document) changes meaning or goes away. */
export const SETUP_SCHEMA_VERSION = 1

export interface SetupResult {
  schemaVersion: number
  deployment: Deployment
  account: string
  keyPrefix: string
  configPath: string
  /** The config change as a unified diff ('' when nothing changed). */
  diff: string
  changed: boolean
  wrapper?: {path: string; changed: boolean}
  hostKey?: {host: string; fingerprint: string; keyType: string; state: 'trusted' | 'added'}
  login?: LoginCheck
  doctor?: DoctorReport
  nextSteps: string[]
  /** 0, or the doctor's 5/6 when a check failed after writing. */
  exitCode: 0 | 5 | 6
}

interface Question {
  flag: string
  message: string
}

/**
 * Collects answers: flag, else prompt (with the default filled in), else the default under
 * --yes, else records the flag as missing. Without a prompter nothing is ever asked, so a
 * silent pipe can never hang the wizard.
 */
class Answers {
  readonly missing: string[] = []
  constructor(
    private readonly io: SetupIO,
    private readonly yes: boolean,
  ) {}

  get interactive(): boolean {
    return this.io.prompter !== undefined
  }

  async input(q: Question, given: string | undefined, def: string | undefined, validate: (v: string) => string): Promise<string | undefined> {
    if (given !== undefined) return validate(given)
    if (this.io.prompter) {
      const v = await this.io.prompter.input({
        message: q.message,
        default: def,
        validate: (x) => {
          try {
            validate(x)
            return true
          } catch (error) {
            return error instanceof RemoteclawError ? `${error.message}. ${error.fix ?? ''}`.trim() : String(error)
          }
        },
      })
      return validate(v)
    }
    if (this.yes && def !== undefined) return validate(def)
    this.missing.push(q.flag)
    return undefined
  }

  async select<T extends string>(q: Question, given: T | undefined, def: T | undefined, choices: {value: T; name: string; description?: string}[]): Promise<T | undefined> {
    if (given !== undefined) return given
    if (this.io.prompter) return this.io.prompter.select({message: q.message, choices, default: def})
    if (this.yes && def !== undefined) return def
    this.missing.push(q.flag)
    return undefined
  }
}

const ACCOUNT_ID_RE = /^[A-Za-z0-9_-]+$/
function validateAccountId(id: string): string {
  if (!ACCOUNT_ID_RE.test(id)) throw new UsageError(`invalid account id ${JSON.stringify(id)}`, {fix: 'Use letters, digits, "_" and "-" (e.g. bot).'})
  return id
}

function validateLocalPath(what: string) {
  return (p: string): string => {
    if (p.trim() === '' || /[\u0000-\u001f]/.test(p)) throw new UsageError(`invalid ${what} ${JSON.stringify(p)}`, {fix: `Give the ${what} as a path.`})
    return p
  }
}

export function missingFlagsError(missing: string[], deployment: Deployment | undefined): UsageError {
  const example =
    deployment === 'local'
      ? 'remoteclaw setup imessage --deployment local --cli-path /opt/homebrew/bin/imsg --yes'
      : deployment === 'bot-user'
        ? 'remoteclaw setup imessage --deployment bot-user --ssh-user bot --yes'
        : 'remoteclaw setup imessage --deployment remote --host mac-mini.tailnet-1234.ts.net --ssh-user bot --yes'
  return new UsageError(`no terminal to ask on; missing: ${missing.join(', ')}`, {
    code: 'missing_answers',
    fix: `Pass them as flags (--yes accepts the defaults and confirms), e.g. ${example}`,
    details: {missing},
  })
}

/**
 * The `remoteclaw setup imessage` flow. Detects, asks only what it must, shows the config
 * change as a diff and confirms, then writes (known_hosts, wrapper, config), verifies SSH login
 * and runs the doctor. Nothing is written before the confirmation.
 */
export async function runSetup(ctx: Context, flags: SetupFlags, io: SetupIO, deps: SetupDeps): Promise<SetupResult> {
  let det = await detectEnvironment(ctx)
  const ask = new Answers(io, Boolean(flags.yes))
  // The older flat layout (top-level `imessage`, as in the first docs) would make every
  // channels.imessage edit invalid: move it first, as its own confirmed step (config migrate).
  if (det.config.config.imessage !== undefined && det.config.config.channels?.imessage === undefined) {
    io.note(`${ctx.configPath} uses the older layout (a top-level "imessage" block); setup writes channels.imessage, so the block must move there first (the same as remoteclaw config migrate; comments are kept).`)
    let move = Boolean(flags.yes)
    if (!move && io.prompter) move = await io.prompter.confirm({message: 'Move it under channels.imessage now?', default: true})
    else if (!move) throw missingFlagsError(['--yes (moves the top-level "imessage" block under channels.imessage first)'], flags.deployment)
    if (!move) throw declined('nothing was written; move the block yourself with: remoteclaw config migrate')
    const m = await migrateConfig(ctx)
    io.note(`Moved "imessage" under channels.imessage${m.backupPath ? ` (backup: ${m.backupPath})` : ''}.`)
    det = await detectEnvironment(ctx)
  }
  io.note(
    `Detected: ${det.platform === 'darwin' ? 'macOS' : det.platform}; ` +
      `${det.imsg.found ? `imsg ${det.imsg.version ?? '(version unknown)'} at ${det.imsg.found}` : 'no imsg on PATH'}; ` +
      `${det.config.exists ? `config ${det.config.path} (${det.accountIds.length === 0 ? 'no iMessage account' : `accounts: ${det.accountIds.join(', ')}`})` : 'no config yet'}; ` +
      `${det.sshKeys.length > 0 ? `SSH keys: ${det.sshKeys.map((k) => path.basename(k)).join(', ')}` : 'no SSH key in ~/.ssh'}`,
  )

  // 1. Deployment.
  const defDeployment: Deployment = det.platform === 'darwin' ? (det.imsg.found ? 'local' : 'bot-user') : 'remote'
  if (flags.deployment !== undefined && !DEPLOYMENTS.includes(flags.deployment)) {
    throw new UsageError(`unknown deployment ${JSON.stringify(flags.deployment)}`, {fix: `Use one of: ${DEPLOYMENTS.join(', ')}`})
  }
  const deployment = await ask.select<Deployment>({flag: '--deployment', message: 'Where does Messages run?'}, flags.deployment, defDeployment, [
    {value: 'local', name: 'This Mac (Messages signed in here, as me)', description: det.imsg.found ? `imsg ${det.imsg.version ?? ''} found at ${det.imsg.found}` : 'imsg not found on PATH'},
    {value: 'bot-user', name: 'A dedicated bot macOS user on this Mac (SSH to <bot-user>@localhost)'},
    {value: 'remote', name: 'A remote Mac over SSH or Tailscale (gateway on Linux or a VM)'},
  ])

  // Without a terminal and without --deployment, list the flags of the default deployment.
  const flow: Deployment = deployment ?? defDeployment

  // 2. Account: flat keys for a single account, accounts.<id> when several exist or --account is given.
  const nested = flags.account !== undefined || det.hasAccountsMap
  let account = DEFAULT_ACCOUNT_ID
  if (flags.account !== undefined) account = validateAccountId(flags.account)
  else if (det.hasAccountsMap) {
    account =
      (await ask.input(
        {flag: '--account', message: `Account id (existing: ${det.accountIds.join(', ')})`},
        undefined,
        flow === 'bot-user' && !det.accountIds.includes('bot') ? 'bot' : det.defaultAccountId,
        validateAccountId,
      )) ?? DEFAULT_ACCOUNT_ID
  }
  const prefix = nested ? ['channels', 'imessage', 'accounts', account] : ['channels', 'imessage']
  const keyPrefix = prefix.join('.')
  // Re-running for an existing account: its current values are the defaults.
  const existing = resolveAccounts(det.config.config, ctx).accounts.find((a) => a.id === account && a.keyPrefix === keyPrefix)
  const existingRemote = existing?.remoteHost?.includes('@') ? {user: existing.remoteHost.split('@')[0]!, host: existing.remoteHost.split('@').slice(1).join('@')} : undefined
  const existingLocalCli = existing && !existing.remoteHost && existing.cliPath !== 'imsg' ? existing.cliPath : undefined

  // 3. Deployment-specific answers.
  let cliPath: string | undefined
  let dbPath: string | undefined
  let ssh: {user: string; host: string; port?: number; remoteImsg: string; identityFile?: string; knownHosts: string; resolved?: SshResolved} | undefined
  if (flow === 'local') {
    // Detected (configured before, or on PATH) is an answer, not a question; --cli-path overrides.
    const known = flags.cliPath === undefined ? (existingLocalCli ?? det.imsg.found) : undefined
    if (known) io.note(`Using imsg at ${known} (${existingLocalCli ? 'from the config' : 'found on PATH'}; --cli-path overrides)`)
    cliPath = await ask.input({flag: '--cli-path', message: 'Path to imsg'}, flags.cliPath ?? known, undefined, validateLocalPath('imsg path'))
    dbPath = flags.dbPath ?? path.join(ctx.home, 'Library/Messages/chat.db')
    if (det.platform !== 'darwin') {
      io.note(`Note: Messages runs only on macOS; on ${det.platform} a local account works only with an imsg stand-in (the simulator). For a Mac elsewhere use --deployment remote.`)
    }
  } else {
    const host =
      flow === 'bot-user'
        ? validateHost(flags.host ?? 'localhost')
        : await ask.input({flag: '--host', message: 'Host name of the Mac (e.g. mac-mini.tailnet-1234.ts.net, or an ~/.ssh/config alias)'}, flags.host, existingRemote?.host, validateHost)
    const resolved = host ? await sshResolve(ctx, host) : undefined
    const userDefault = existingRemote?.user ?? (flow === 'remote' && resolved?.isAlias && resolved.user ? resolved.user : undefined)
    const user = await ask.input(
      {flag: '--ssh-user', message: flow === 'bot-user' ? 'macOS user name of the bot user' : 'SSH user on the Mac (the user signed in to Messages)'},
      flags.sshUser,
      userDefault,
      validateUser,
    )
    const port = validatePort(flags.port) ?? (resolved?.isAlias ? resolved.port : undefined)
    const remoteDefault = flow === 'bot-user' && det.imsg.found?.startsWith('/') ? det.imsg.found : '/opt/homebrew/bin/imsg'
    const remoteImsg = await ask.input(
      {flag: '--remote-imsg-path', message: `Path of imsg on the Mac, as ${user ?? 'that user'} runs it`},
      flags.remoteImsgPath,
      remoteDefault,
      (p) => validateRemotePath(p, 'remote imsg path'),
    )
    const identityFile = flags.identityFile ? expandHome(flags.identityFile, ctx.home) : undefined
    const knownHosts = expandHome(flags.knownHosts ?? path.join(ctx.home, '.ssh', 'known_hosts'), ctx.home)
    cliPath = expandHome(flags.cliPath ?? path.join(ctx.stateDir, 'scripts', `imsg-${account}`), ctx.home)
    if (!identityFile && det.sshKeys.length === 0) {
      io.note(`No SSH key in ${path.join(ctx.home, '.ssh')}: create one with ssh-keygen -t ed25519, then install it on the Mac with ssh-copy-id.`)
    }
    if (port !== undefined && port !== 22 && !resolved?.isAlias) {
      io.note(
        `Note: remoteHost (used by scp for attachments) cannot carry port ${port}; add a Host alias with "Port ${port}" to ~/.ssh/config and pass the alias as --host.`,
      )
    }
    if (user && host && remoteImsg) {
      ssh = {user, host, port, remoteImsg, identityFile, knownHosts: knownHosts, resolved}
      dbPath = flags.dbPath ?? `/Users/${user}/Library/Messages/chat.db`
    }
  }
  if (!ask.interactive && !flags.yes) ask.missing.push('--yes (confirms the config change)')
  if (ask.missing.length > 0) throw missingFlagsError(ask.missing, flow)

  // 4. Host key (read-only until the confirmation).
  let hostKey: HostKey | undefined
  let hostKeyState: 'trusted' | 'unknown' = 'trusted'
  let keyHost = ''
  let keyPort: number | undefined
  if (ssh) {
    keyHost = ssh.resolved?.hostKeyAlias ?? (ssh.resolved?.isAlias ? ssh.resolved.hostname : ssh.host)
    const connectPort = ssh.port ?? ssh.resolved?.port
    // ssh records a HostKeyAlias bare, without the port
    keyPort = ssh.resolved?.hostKeyAlias ? undefined : connectPort
    const connectHost = ssh.resolved?.isAlias ? ssh.resolved.hostname : ssh.host
    io.note(`Reading the SSH host key of ${knownHostName(connectHost, connectPort)} ...`)
    const fetched = await fetchAndLookupHostKey([ssh.knownHosts], keyHost, keyPort, {host: connectHost, port: connectPort ?? 22, timeoutMs: deps.timeoutMs})
    hostKey = fetched.key
    // the fingerprint may be of either key the host showed (the one we asked for first, or the known type)
    if (flags.trustHostKey !== undefined && !fetched.offered.some((k) => k.fingerprint === flags.trustHostKey!.trim())) {
      throw new RemoteclawError(`the host offered ${hostKey.fingerprint}, not the --trust-host-key ${flags.trustHostKey}; nothing was changed`, {
        code: 'host_key_mismatch',
        fix: `Compare with the Mac's own key (on the Mac: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before trusting anything.`,
        details: {offered: hostKey.fingerprint, expected: flags.trustHostKey},
      })
    }
    const found = fetched.found
    if (found.status === 'mismatch' || found.status === 'revoked') {
      io.note(`WARNING: the host key of ${knownHostName(keyHost, keyPort)} differs from the one in ${found.file}:${found.line ?? '?'} (known ${found.knownFingerprint ?? '?'}, offered ${hostKey.fingerprint}). Possible man-in-the-middle; nothing was changed.`)
      throw hostKeyMismatchError(keyHost, keyPort, hostKey.fingerprint, found, found.status === 'revoked')
    }
    if (found.status === 'match') {
      io.out(`Host key ${hostKey.fingerprint} (${hostKey.keyType}) of ${knownHostName(keyHost, keyPort)} is already trusted in ${ssh.knownHosts}.`)
    } else {
      hostKeyState = 'unknown'
      io.out(`The host key of ${knownHostName(keyHost, keyPort)} is ${hostKey.keyType} ${hostKey.fingerprint}`)
      if (flags.trustHostKey !== undefined) {
        // matched above
      } else if (io.prompter) {
        io.out('Compare it with the Mac (on the Mac: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub).')
        const ok = await io.prompter.confirm({message: `Trust ${hostKey.fingerprint} for ${knownHostName(keyHost, keyPort)} and add it to ${ssh.knownHosts}?`, default: false})
        if (!ok) throw declined('host key not trusted; nothing was written')
      } else if (!flags.yes) {
        throw missingFlagsError([`--trust-host-key ${hostKey.fingerprint}`], deployment)
      }
    }
  }

  // 5. The config change, shown as a diff, then confirmed.
  const fields: Record<string, unknown> = {enabled: true, cliPath, dbPath}
  if (ssh) {
    fields.remoteHost = `${ssh.user}@${ssh.host}`
    fields.remoteAttachmentRoots = [`/Users/${ssh.user}/Library/Messages/Attachments`]
  }
  const edits: ConfigEdit[] = Object.entries(fields).map(([k, v]) => ({path: [...prefix, k], value: v}))
  if (!ssh) edits.push({path: [...prefix, 'remoteHost'], unset: true}, {path: [...prefix, 'remoteAttachmentRoots'], unset: true})
  const preview = await applyConfigEdits(ctx, edits, {dryRun: true})
  const wrapperText = ssh
    ? renderWrapper({user: ssh.user, host: ssh.host, port: ssh.port, remoteImsgPath: ssh.remoteImsg, identityFile: ssh.identityFile, knownHostsFile: flags.knownHosts ? ssh.knownHosts : undefined})
    : undefined
  io.out('')
  io.out(preview.changed ? `Config change (${ctx.configPath}):` : `The config already has these settings (${ctx.configPath}).`)
  // The patch minus its "Index:"/"====" preamble: the ---/+++ lines already name the file.
  if (preview.changed) for (const line of preview.diff.trimEnd().split('\n').filter((l) => !/^(Index: |={10,})/.test(l))) io.out(line)
  if (ssh && cliPath) io.out(`Wrapper: ${cliPath} (mode 0700) runs ${ssh.remoteImsg} as ${ssh.user}@${ssh.host} over SSH`)
  if (hostKey && hostKeyState === 'unknown' && ssh) io.out(`known_hosts: add ${hostKey.fingerprint} for ${knownHostName(keyHost, keyPort)} to ${ssh.knownHosts}`)
  if (nested && !det.hasAccountsMap && det.accountIds.length > 0) {
    io.note(`Note: with an accounts map, the existing flat keys under channels.imessage become defaults inherited by every account.`)
  }
  if (io.prompter) {
    const ok = await io.prompter.confirm({message: 'Write these changes?', default: true})
    if (!ok) throw declined('nothing was written')
  }

  // 6. Writes: known_hosts, wrapper, then (after SSH login works) the config.
  const result: SetupResult = {schemaVersion: SETUP_SCHEMA_VERSION, deployment: deployment!, account, keyPrefix, configPath: ctx.configPath, diff: preview.diff, changed: false, nextSteps: [], exitCode: 0}
  if (ssh && hostKey && cliPath && wrapperText) {
    if (hostKeyState === 'unknown') {
      await appendKnownHost(ssh.knownHosts, keyHost, keyPort, hostKey, {hashed: ssh.resolved?.hashKnownHosts ?? false, random: ctx.random})
      io.note(`Added ${hostKey.fingerprint} to ${ssh.knownHosts}`)
    }
    result.hostKey = {host: knownHostName(keyHost, keyPort), fingerprint: hostKey.fingerprint, keyType: hostKey.keyType, state: hostKeyState === 'unknown' ? 'added' : 'trusted'}
    const w = await writeWrapper(cliPath, wrapperText)
    result.wrapper = {path: cliPath, changed: w.changed}
    io.note(w.changed ? `Wrote ${cliPath}` : `${cliPath} is up to date`)
    io.note(`Checking non-interactive SSH login as the wrapper runs it ...`)
    const login = await verifyLogin(ctx, {user: ssh.user, host: ssh.host, port: ssh.port, identityFile: ssh.identityFile, knownHostsFile: flags.knownHosts ? ssh.knownHosts : undefined})
    result.login = login
    if (!login.ok) {
      throw new RemoteclawError(`non-interactive SSH login to ${ssh.user}@${ssh.host} failed: ${login.message}; the config was not changed`, {
        code: 'ssh_login_failed',
        exitCode: ExitCode.UNREACHABLE,
        fix: login.fix,
        details: {login},
      })
    }
  }
  const written = await applyConfigEdits(ctx, edits, {dryRun: false})
  result.changed = written.changed
  io.note(written.changed ? `Updated ${ctx.configPath}` : `${ctx.configPath} unchanged`)

  // 7. Probe and doctor, as the gateway will run imsg.
  if (!flags.skipChecks) {
    const loaded = await (await import('../config/load.js')).loadConfig(ctx)
    const resolvedAccount = resolveAccount(loaded.config, nested ? account : undefined, ctx)
    io.note('Running the doctor (remoteclaw channels doctor) ...')
    const report = await diagnoseAccount(ctx, loaded.config, resolvedAccount, {timeoutMs: deps.timeoutMs}, deps.doctor)
    result.doctor = report
    result.exitCode = report.exitCode
  }
  const accFlag = nested ? ` --account ${account}` : ''
  result.nextSteps = [
    `Start the gateway: remoteclaw gateway`,
    `Text the bot from another phone or Apple ID, then approve the first pairing: remoteclaw pairing list imessage  and  remoteclaw pairing approve imessage <CODE>`,
  ]
  // A local imsg off macOS is a stand-in (the simulator): the doctor's send test would only say "skipped".
  if (deployment !== 'local' || ctx.platform === 'darwin') {
    result.nextSteps.push(`Check sending once (sends a real message): remoteclaw channels doctor${accFlag} --send-test <your handle>`)
  }
  if (deployment !== 'local') {
    result.nextSteps.push(`First run on the Mac: log in as ${ssh?.user ?? 'the bot user'} once (Screen Sharing) and run \`${ssh?.remoteImsg ?? 'imsg'} chats --limit 1\` and \`imsg send <handle> "test"\` to approve the permission prompts.`)
  }
  return result
}

function declined(what: string): RemoteclawError {
  return new RemoteclawError(`declined: ${what}`, {code: 'declined', exitCode: ExitCode.DECLINED})
}

export type {Detected}
