import fs from 'node:fs'
import path from 'node:path'
import {REPO_ROOT} from './cli.js'

export interface FakeRule {
  cmd: 'launchctl' | 'systemctl' | 'loginctl'
  /** Prefix of the arguments this rule answers. */
  args?: string[]
  stdout?: string
  stderr?: string
  exitCode?: number
}

const FAKE = path.join(REPO_ROOT, 'test', 'fixtures', 'fake-service-manager.mjs')

/** launchctl, systemctl and loginctl on a PATH of their own: they record argv and answer by rules. */
export class FakeServiceManager {
  readonly bin: string

  constructor(readonly dir: string) {
    this.bin = path.join(dir, 'fakebin')
    fs.mkdirSync(this.bin, {recursive: true})
    for (const name of ['launchctl', 'systemctl', 'loginctl']) fs.symlinkSync(FAKE, path.join(this.bin, name))
    this.rules([])
  }

  rules(rules: FakeRule[]): void {
    fs.writeFileSync(path.join(this.dir, 'rules.json'), JSON.stringify(rules))
    fs.rmSync(path.join(this.dir, 'calls.jsonl'), {force: true})
  }

  calls(): string[][] {
    const f = path.join(this.dir, 'calls.jsonl')
    if (!fs.existsSync(f)) return []
    return fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string[])
  }

  /** Calls that change something (queries such as print/show filtered out). */
  changes(): string[][] {
    return this.calls().filter((c) => !(c[0] === 'launchctl' && c[1] === 'print') && !(c[0] === 'systemctl' && c[2] === 'show') && !(c[0] === 'loginctl' && c[1] === 'show-user'))
  }

  env(): Record<string, string> {
    return {PATH: `${this.bin}${path.delimiter}${process.env.PATH}`, FAKE_SM_DIR: this.dir}
  }
}
