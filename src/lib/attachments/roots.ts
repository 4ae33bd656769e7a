import fsp from 'node:fs/promises'
import path from 'node:path'
import picomatch from 'picomatch'

/**
 * Allowed attachment roots. Patterns are picomatch globs (chosen for its tested glob semantics:
 * `*` matches exactly one path segment, never "/"), e.g. /Users/STAR/Library/Messages/Attachments
 * (STAR = `*`). A path is allowed when it lies strictly below a root.
 */

export type NormalizeResult = {ok: true; path: string} | {ok: false; reason: string}

// eslint-disable-next-line no-control-regex
const NUL = /\u0000/

/**
 * Expands `~` / `~/...` against `home`, rejects `..` segments and relative paths, and collapses
 * `//` and `.`. `home` undefined means `~` cannot be expanded (refused).
 */
export function normalizeAttachmentPath(p: string, home: string | undefined): NormalizeResult {
  if (!p) return {ok: false, reason: 'empty path'}
  if (NUL.test(p)) return {ok: false, reason: 'path contains a NUL byte'}
  let q = p
  if (q === '~' || q.startsWith('~/')) {
    if (!home) return {ok: false, reason: 'path starts with ~ but the user on the Mac is unknown (set remoteHost to user@host)'}
    q = home + q.slice(1)
  }
  if (!q.startsWith('/')) return {ok: false, reason: 'path is not absolute'}
  if (q.split('/').includes('..')) return {ok: false, reason: 'path contains ".."'}
  return {ok: true, path: path.posix.normalize(q)}
}

/** Expands `~` in a root pattern. */
export function expandRoot(root: string, home: string | undefined): string | undefined {
  if (root === '~' || root.startsWith('~/')) return home ? home + root.slice(1) : undefined
  return root
}

/** Home of a user on the remote Mac (macOS layout). */
export function remoteHomeFor(user: string | undefined): string | undefined {
  return user ? `/Users/${user}` : undefined
}

export function isUnderRoots(p: string, roots: string[]): boolean {
  return matchingRoot(p, roots) !== undefined
}

export function matchingRoot(p: string, roots: string[]): string | undefined {
  // picomatch's regexes do not let a wildcard match a newline; control characters never occur in
  // roots, so mapping them to "_" keeps every segment boundary and changes no decision.
  // eslint-disable-next-line no-control-regex
  p = p.replace(/[\u0000-\u001f\u007f]/g, '_')
  for (const root of roots) {
    const base = root.replace(/\/+$/, '')
    if (!base.startsWith('/')) continue
    if (picomatch(`${base}/**`, {dot: true})(p) && !picomatch(base, {dot: true})(p)) return root
  }
  return undefined
}

/**
 * Local roots with their literal (glob-free) prefix resolved through realpath, so a root like
 * /tmp/x matches files whose realpath is /private/tmp/x (macOS) after symlink resolution.
 */
export async function realpathRoots(roots: string[]): Promise<string[]> {
  const out: string[] = []
  for (const root of roots) {
    out.push(root)
    const segs = root.split('/')
    const firstGlob = segs.findIndex((s) => /[*?[\]{}()!+@]/.test(s))
    const literal = (firstGlob === -1 ? segs : segs.slice(0, firstGlob)).join('/') || '/'
    try {
      const real = await fsp.realpath(literal)
      if (real !== literal) out.push(firstGlob === -1 ? real : [real, ...segs.slice(firstGlob)].join('/'))
    } catch {
      // a root that does not exist yet stays as written
    }
  }
  return [...new Set(out)]
}
