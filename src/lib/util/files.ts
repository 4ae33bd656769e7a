import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import {RemoteclawError} from '../errors.js'

/**
 * Creates a directory (and parents) with mode 0700, and tightens an existing one we own.
 * Call it for directories that are ours (the state dir and its subfolders, ~/.ssh).
 */
export async function ensureDir700(dir: string): Promise<void> {
  await fsp.mkdir(dir, {recursive: true, mode: 0o700})
  try {
    const st = await fsp.stat(dir)
    if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) await fsp.chmod(dir, 0o700)
  } catch {
    // best effort: a dir we do not own keeps its mode
  }
}

/**
 * Creates missing directories with mode 0700 but leaves existing ones alone: a config file
 * placed by REMOTECLAW_CONFIG_PATH in a shared folder must not change that folder's mode.
 */
export async function mkdirPrivate(dir: string): Promise<void> {
  await fsp.mkdir(dir, {recursive: true, mode: 0o700})
}

/**
 * Atomic replace with mode 0600: temp file in the same dir, fsync, rename, fsync of the dir
 * (write-file-atomic). Unlike fs.writeFile, this fixes the mode of a file that was 0644.
 */
export async function writeFileAtomic600(file: string, data: string | Buffer): Promise<void> {
  await mkdirPrivate(path.dirname(file))
  // Loaded on the first write: reads (pairing list, sessions list) never need it.
  const {default: writeFileAtomic} = await import('write-file-atomic')
  await writeFileAtomic(file, data, {mode: 0o600, fsync: true})
  await fsp.chmod(file, 0o600)
}

/**
 * Runs fn while holding an exclusive cross-process lock on `file` (proper-lockfile: a
 * `<file>.lock` directory with mtime-based stale detection, so a killed holder does not
 * wedge the lock). The file itself need not exist.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: {timeoutMs?: number} = {}): Promise<T> {
  const dir = path.dirname(file)
  try {
    await mkdirPrivate(dir)
  } catch (error) {
    throw new RemoteclawError(`cannot create the folder ${dir} for ${file}: ${(error as Error).message}`, {
      fix: `Make ${dir} a folder this user can write, or point REMOTECLAW_STATE_DIR / REMOTECLAW_CONFIG_PATH elsewhere.`,
    })
  }
  const timeoutMs = opts.timeoutMs ?? 10_000
  let release: () => Promise<void>
  try {
    // Loaded on the first lock: proper-lockfile patches fs through graceful-fs when it loads.
    const {default: lockfile} = await import('proper-lockfile')
    release = await lockfile.lock(file, {
      realpath: false,
      stale: 10_000,
      update: 2_000,
      retries: {retries: Math.max(1, Math.ceil(timeoutMs / 50)), minTimeout: 20, maxTimeout: 100, factor: 1.2},
    })
  } catch (error) {
    // only ELOCKED means another holder; anything else (EACCES, EROFS) is about the folder
    const held = (error as NodeJS.ErrnoException).code === 'ELOCKED'
    throw new RemoteclawError(`could not lock ${file}: ${(error as Error).message}`, {
      fix: held
        ? `Another remoteclaw process holds it; retry. If none is running, remove ${file}.lock.`
        : `Check that this user can create ${file}.lock in ${dir}.`,
    })
  }
  try {
    return await fn()
  } finally {
    await release().catch(() => {})
  }
}

/** Reads a file, or undefined when it does not exist. Other errors propagate. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

export function existsSync(file: string): boolean {
  return fs.existsSync(file)
}
