import fs from 'node:fs'
import fsp from 'node:fs/promises'
import {execFile} from 'node:child_process'

/**
 * Every agent process gets REMOTECLAW_AGENT_RUN=<gateway pid>.<run>. A descendant that left the
 * agent's process group (setsid, a daemonising script) is out of reach of the group kill but
 * inherits the variable, so it can still be found and ended: after a turn whose pipes stayed
 * open, and when the gateway stops. Linux reads /proc/<pid>/environ; elsewhere `ps -E`.
 */
export const RUN_MARKER_VAR = 'REMOTECLAW_AGENT_RUN'

let counter = 0
export function newRunMarker(): string {
  counter++
  return `${process.pid}.${counter}`
}

/** Marker prefix of every run this process started. */
export function ownMarkerPrefix(): string {
  return `${process.pid}.`
}

function matches(envBlock: string, markerOrPrefix: string, exact: boolean): boolean {
  const needle = `${RUN_MARKER_VAR}=${markerOrPrefix}`
  let i = envBlock.indexOf(needle)
  while (i !== -1) {
    const before = i === 0 ? '\0' : envBlock[i - 1]
    const after = envBlock[i + needle.length]
    if ((before === '\0' || before === ' ') && (!exact || after === undefined || after === '\0' || after === ' ')) return true
    i = envBlock.indexOf(needle, i + 1)
  }
  return false
}

async function procPids(markerOrPrefix: string, exact: boolean): Promise<number[]> {
  const out: number[] = []
  let names: string[]
  try {
    names = await fsp.readdir('/proc')
  } catch {
    return out
  }
  await Promise.all(
    names.map(async (n) => {
      if (!/^\d+$/.test(n) || Number(n) === process.pid) return
      try {
        const env = await fsp.readFile(`/proc/${n}/environ`, 'latin1')
        if (matches(env, markerOrPrefix, exact)) out.push(Number(n))
      } catch {
        // gone, or not ours
      }
    }),
  )
  return out
}

function psPids(markerOrPrefix: string, exact: boolean): Promise<number[]> {
  return new Promise((resolve) => {
    execFile('ps', ['-E', '-ww', '-x', '-o', 'pid=,command='], {timeout: 5000, maxBuffer: 64 * 1024 * 1024}, (error, stdout) => {
      if (error) return resolve([])
      const pids: number[] = []
      for (const line of String(stdout).split('\n')) {
        const m = /^\s*(\d+)\s(.*)$/.exec(line)
        if (m && Number(m[1]) !== process.pid && matches(m[2]!, markerOrPrefix, exact)) pids.push(Number(m[1]))
      }
      resolve(pids)
    })
  })
}

const hasProc = fs.existsSync('/proc/self/environ')

/** SIGKILLs every process carrying this run's marker (exact) or any marker with this prefix. Returns how many. */
export async function killMarked(markerOrPrefix: string, opts: {exact: boolean}): Promise<number> {
  const pids = hasProc ? await procPids(markerOrPrefix, opts.exact) : await psPids(markerOrPrefix, opts.exact)
  let n = 0
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
      n++
    } catch {
      // already gone
    }
  }
  return n
}

/** Synchronous variant for the process 'exit' hook (Linux only; elsewhere the group kill must do). */
export function killMarkedSync(prefix: string): void {
  if (!hasProc) return
  let names: string[]
  try {
    names = fs.readdirSync('/proc')
  } catch {
    return
  }
  for (const n of names) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue
    try {
      if (matches(fs.readFileSync(`/proc/${n}/environ`, 'latin1'), prefix, false)) process.kill(Number(n), 'SIGKILL')
    } catch {
      // gone, or not ours
    }
  }
}
