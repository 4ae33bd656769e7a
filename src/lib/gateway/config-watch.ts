import fs from 'node:fs'
import path from 'node:path'

/**
 * Calls onChange (debounced) when the config file changes. fs.watch on the directory catches
 * atomic replaces (rename over the file); a 1 s stat poll covers filesystems where fs.watch
 * is unreliable. The callback decides whether the text really changed.
 */
export class ConfigWatcher {
  private watcher: fs.FSWatcher | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly poll: () => void
  private closed = false

  constructor(
    private readonly file: string,
    private readonly onChange: () => void,
    private readonly debounceMs = 200,
  ) {
    this.poll = () => this.kick()
  }

  start(): void {
    const dir = path.dirname(this.file)
    const base = path.basename(this.file)
    try {
      this.watcher = fs.watch(dir, {persistent: false}, (_event, name) => {
        if (!name || name.toString() === base) this.kick()
      })
      this.watcher.on('error', () => {})
    } catch {
      // directory missing: the poll still notices the file appearing
    }
    fs.watchFile(this.file, {interval: 1000, persistent: false}, this.poll)
  }

  private kick(): void {
    if (this.closed) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (!this.closed) this.onChange()
    }, this.debounceMs)
    this.timer.unref()
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.watcher?.close()
    fs.unwatchFile(this.file, this.poll)
  }
}
