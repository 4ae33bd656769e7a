import type {Context} from '../context.js'
import {RemoteclawError} from '../errors.js'
import {verifyBatchLogin} from '../ssh/exec.js'

export interface LoginCheck {
  ok: boolean
  message: string
  fix?: string
  code?: string
}

/** Non-interactive login through the system ssh with the wrapper's exact options (ssh lib). */
export async function verifyLogin(
  _ctx: Context,
  o: {user: string; host: string; port?: number; identityFile?: string; knownHostsFile?: string; timeoutMs?: number},
): Promise<LoginCheck> {
  try {
    await verifyBatchLogin(o.user, o.host, o.port, {identityFile: o.identityFile, knownHostsFile: o.knownHostsFile, timeoutMs: o.timeoutMs})
    return {ok: true, message: `ssh -o BatchMode=yes ${o.user}@${o.host} true works`}
  } catch (error) {
    if (error instanceof RemoteclawError) return {ok: false, message: error.message, fix: error.fix, code: error.code}
    return {ok: false, message: (error as Error).message}
  }
}
