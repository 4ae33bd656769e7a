import type {ResolvedAccount} from '../../../src/lib/config/accounts.js'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import type {AccountConfig} from '../../../src/lib/config/schema.js'
import {createContext, type Context} from '../../../src/lib/context.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'

export function makeCtx(home: string, stateDir: string, env: Record<string, string> = {}): {ctx: Context; records: LogRecord[]} {
  const records: LogRecord[] = []
  const ctx = createContext({
    home,
    stateDir,
    env: {HOME: home, ...env},
    log: createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)}),
  })
  return {ctx, records}
}

export function makeAccount(fields: AccountConfig, home: string, multi = false): ResolvedAccount {
  const config = multi ? {channels: {imessage: {accounts: {bot: fields}}}} : {channels: {imessage: fields}}
  return resolveAccount(config, multi ? 'bot' : undefined, {home})
}
