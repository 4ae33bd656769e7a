// imsg's user-visible texts (protocol §7), verbatim where the reference gives them.

export const BRIDGE_NOT_STARTED = 'The bridge is not started. Run imsg launch explicitly before using bridge methods.'
export const AUTOMATION_DENIED =
  'AppleScript failed: 0:50: execution error: Not authorized to send Apple events to Messages. (-1743)'
export const DB_DETAIL_UNREADABLE =
  'The configured Messages database could not be opened read-only. Verify the path and grant Full Disk Access to the supervising process, then retry.'
export const DB_DETAIL_MISSING =
  'The configured Messages database does not exist. Create or copy chat.db at this path, then retry.'
export const DEFAULT_GARBAGE =
  'objc[4242]: Class AXSpeechAssetDownloader is implemented in both /System/Library/PrivateFrameworks/TextToSpeech.framework and /System/Library/PrivateFrameworks/AXAssetLoader.framework. One of the two will be used. Which one is undefined.'

/** SQLite's message for the open failure: FDA (SQLITE_AUTH) or a missing file (SQLITE_CANTOPEN). */
export function sqliteOpenError(cause: 'fda' | 'missing'): string {
  return cause === 'fda' ? 'authorization denied (code: 23)' : 'unable to open database file (code: 14)'
}

/** ≤0.6.x raw form. */
export function rawPermissionDenied(dbPath: string, cause: 'fda' | 'missing'): string {
  return `permissionDenied(path: "${dbPath}", underlying: ${sqliteOpenError(cause)})`
}

/** 0.7.0+ banner (§7.4), without a trailing newline. */
export function permissionBanner(dbPath: string, cause: 'fda' | 'missing'): string {
  return [
    sqliteOpenError(cause),
    '',
    '\u26a0\ufe0f  Permission Error: Cannot access Messages database',
    '',
    `The Messages database at ${dbPath} requires Full Disk Access permission.`,
    '',
    'To fix:',
    '1. Open System Settings \u2192 Privacy & Security \u2192 Full Disk Access',
    '2. Add your terminal application and any parent launcher (VS Code, Node, gateway, etc.)',
    '3. Also add the built-in Terminal.app if you normally use another terminal',
    '4. Toggle stale entries off and on after terminal/Homebrew/app updates',
    '5. Restart the terminal or parent app, then try again',
    '',
    'Note: This is required because macOS protects the Messages database.',
    'For more details, see: https://github.com/steipete/imsg#permissions-troubleshooting',
  ].join('\n')
}

export const RPC_HELP = [
  'imsg rpc',
  'Run JSON-RPC over stdin/stdout',
  '',
  'Usage:',
  '  imsg rpc [options]',
  '',
  'Options:',
  '  --db <value>\tPath to chat.db (defaults to ~/Library/Messages/chat.db)',
  '  --log-level, --logLevel <value>\tSet log level (trace|verbose|debug|info|warning|error|critical)',
  '  -v, --verbose\tEnable verbose logging',
  '  --json, -j, --json-output, --jsonOutput\tEmit machine-readable JSON output',
  '',
  'Examples:',
  '  imsg rpc',
  '  imsg rpc --db ~/Library/Messages/chat.db',
].join('\n')

/** Root help; `withRpc` false reproduces a pre-0.3 binary (no rpc line). */
export function rootHelp(display: string, withRpc: boolean, withStatus: boolean): string {
  const cmds: Array<[string, string]> = [
    ['chats', 'List recent conversations'],
    ['history', 'Show recent messages for a chat'],
    ['watch', 'Stream incoming messages'],
    ['send', 'Send a message (text and/or attachment)'],
  ]
  if (withRpc) cmds.push(['rpc', 'Run JSON-RPC over stdin/stdout'])
  if (withStatus) cmds.push(['status', 'Show which features are available'])
  return [
    `imsg ${display}`,
    'Send and read iMessage / SMS from the terminal',
    '',
    'Usage:',
    '  imsg <command> [options]',
    '',
    'Commands:',
    ...cmds.map(([c, d]) => `  ${c}\t${d}`),
    '',
    'Options:',
    '  -h, --help\tShow help',
    '  -V, --version\tShow version',
  ].join('\n')
}
