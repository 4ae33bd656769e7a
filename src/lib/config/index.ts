/**
 * The config layer's public API (other areas import from here or from the files directly).
 * See docs/configuration.md (config commands and the configuration reference).
 */
export {ACCOUNT_DEFAULTS, AGENT_DEFAULTS, COMMANDS_DEFAULTS, DEFAULT_ACCOUNT_ID, GROUP_DEFAULTS, configSchema} from './schema.js'
export type {AccountConfig, AgentConfig, GroupConfig, IMessageChannelConfig, RemoteclawConfig} from './schema.js'
export {checkConfigFile, ConfigInvalidError, loadConfig, parseConfigText, type ConfigCheck, type LoadedConfig} from './load.js'
export {imessageChannel, resolveAccount, resolveAccounts, type ResolvedAccount, type ResolvedAccounts} from './accounts.js'
export {formatIssue, validateConfig, type ConfigIssue, type ValidationResult} from './validate.js'
export {FORBIDDEN_SEGMENTS, formatPath, getAtPath, parsePath, toSegments, type PathSegment} from './paths.js'
export {parseCliValue} from './value.js'
export {
  backupPathFor,
  getConfigValue,
  setConfigValue,
  unsetConfigValue,
  updateConfig,
  type ConfigDocument,
  type GetResult,
  type SetResult,
  type UpdateResult,
} from './store.js'
export {migrateConfig, type MigrateResult} from './migrate.js'
export {defaultFor, renderConfigReference} from './docs.js'
