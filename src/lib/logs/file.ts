import fsp from 'node:fs/promises'
import path from 'node:path'
import {createStream, type RotatingFileStream} from 'rotating-file-stream'
import {ensureDir700} from '../util/files.js'

/**
 * The gateway's log file: JSON lines in <stateDir>/logs/gateway.log (folder 0700, files 0600),
 * rotated by size the classical way (gateway.log -> gateway.log.1 -> ... -> gateway.log.N) by
 * rotating-file-stream, so `remoteclaw logs` finds the history under fixed names.
 */
export const LOG_FILE = 'gateway.log'
export const DEFAULT_ROTATE_SIZE = '10M'
/** Rotated files kept besides the current one. */
export const DEFAULT_KEEP = 5

export function logDir(stateDir: string): string {
  return path.join(stateDir, 'logs')
}

export function gatewayLogPath(stateDir: string): string {
  return path.join(logDir(stateDir), LOG_FILE)
}

/** Every log file of a state dir that exists, oldest first (gateway.log.N ... gateway.log). */
export async function listLogFiles(stateDir: string, keep = DEFAULT_KEEP + 20): Promise<string[]> {
  const base = gatewayLogPath(stateDir)
  const out: string[] = []
  for (let i = keep; i >= 1; i--) {
    if (await exists(`${base}.${i}`)) out.push(`${base}.${i}`)
  }
  if (await exists(base)) out.push(base)
  return out
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fsp.stat(file)).isFile()
  } catch {
    return false
  }
}

/** rotating-file-stream's size syntax: a positive integer and B, K, M or G. */
export function isRotateSize(v: string): boolean {
  return /^[1-9]\d*[BKMG]$/.test(v)
}

export interface LogFileSink {
  readonly file: string
  write(line: string): void
  /** Flushes and closes (the gateway awaits it before exiting). */
  close(): Promise<void>
}

export interface LogFileOptions {
  /** Rotate when the file reaches this size (rotating-file-stream syntax, e.g. 10M). */
  size?: string
  keep?: number
  /** Called once when the file cannot be written; lines are dropped from then on (stderr still has them). */
  onError?: (error: Error) => void
}

export async function openLogFile(stateDir: string, opts: LogFileOptions = {}): Promise<LogFileSink> {
  const dir = logDir(stateDir)
  await ensureDir700(dir)
  const file = gatewayLogPath(stateDir)
  // A file left 0644 by something else: tighten it (mode only applies to files the stream creates).
  await fsp.chmod(file, 0o600).catch(() => {})
  const stream: RotatingFileStream = createStream(LOG_FILE, {
    path: dir,
    size: (opts.size ?? DEFAULT_ROTATE_SIZE) as `${number}M`,
    rotate: opts.keep ?? DEFAULT_KEEP,
    mode: 0o600,
  })
  let failed = false
  stream.on('error', (error: Error) => {
    if (failed) return
    failed = true
    opts.onError?.(error)
  })
  return {
    file,
    write(line: string) {
      if (!failed && stream.writable) stream.write(line + '\n')
    },
    close() {
      return new Promise<void>((resolve) => {
        if (failed || stream.writableEnded) return resolve()
        stream.end(() => resolve())
        // never hold the exit on a stuck file system
        setTimeout(resolve, 2000).unref()
      })
    },
  }
}
