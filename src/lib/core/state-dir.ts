import path from 'node:path'

// Where remoteclaw keeps its files. Node built-ins only: the CLI's loader (src/cli/code-cache.ts)
// resolves the state dir before anything else is loaded.

export function expandHome(p: string, home: string): string {
  if (p === '~') return home
  if (p.startsWith('~/')) return path.join(home, p.slice(2))
  return p
}

export function resolveStateDir(env: NodeJS.ProcessEnv, home: string): string {
  const fromEnv = env.REMOTECLAW_STATE_DIR
  if (fromEnv && fromEnv.trim() !== '') return path.resolve(expandHome(fromEnv, home))
  return path.join(home, '.remoteclaw')
}

export function resolveConfigPath(env: NodeJS.ProcessEnv, home: string): string {
  const fromEnv = env.REMOTECLAW_CONFIG_PATH
  if (fromEnv && fromEnv.trim() !== '') return path.resolve(expandHome(fromEnv, home))
  return path.join(resolveStateDir(env, home), 'remoteclaw.json')
}
