import {expect} from 'chai'
import {suggest} from '../../src/hooks/command-not-found.js'
import {runCli, tempDir} from '../helpers/cli.js'

const IDS = ['config:get', 'config:set', 'config:unset', 'pairing:list', 'pairing:approve', 'channels:status', 'gateway']

describe('command_not_found hook', () => {
  it('suggests the closest command, a topic typo included', () => {
    expect(suggest('confg:get', IDS)).to.equal('config:get')
    expect(suggest('pairng:list', IDS)).to.equal('pairing:list')
    expect(suggest('gatway', IDS)).to.equal('gateway')
    expect(suggest('confg', IDS)).to.equal('config')
    expect(suggest('zzzzzz', IDS)).to.equal(undefined)
  })

  describe('through the built CLI', () => {
    let t: ReturnType<typeof tempDir>
    beforeEach(() => (t = tempDir()))
    afterEach(() => t.cleanup())

    it('prints a did-you-mean without a TTY and exits 2', async () => {
      const r = await runCli(['confg', 'get', 'channels'], {stateDir: t.dir})
      expect(r.exitCode).to.equal(2)
      expect(r.stderr).to.include('"confg get')
      expect(r.stderr).to.include('Did you mean `remoteclaw config get channels`?')
      expect(r.stdout).to.equal('')
    })

    it('prints one JSON error document with a fix under --json', async () => {
      const r = await runCli(['pairng', 'list', '--json'], {stateDir: t.dir})
      expect(r.exitCode).to.equal(2)
      const doc = JSON.parse(r.stdout)
      expect(doc.error.code).to.equal('command_not_found')
      expect(doc.error.fix).to.include('remoteclaw pairing list')
      expect(doc.error.exitCode).to.equal(2)
    })

    it('a usage error under --json carries a fix that names the command help', async () => {
      const r = await runCli(['config', 'get', '--bogus', '--json'], {stateDir: t.dir})
      expect(r.exitCode).to.equal(2)
      const doc = JSON.parse(r.stdout)
      expect(doc.error.code).to.equal('usage')
      expect(doc.error.message).to.equal('Nonexistent flag: --bogus')
      expect(doc.error.fix).to.include('remoteclaw config get --help')
      // The suggested fix runs.
      const help = await runCli(['config', 'get', '--help'], {stateDir: t.dir})
      expect(help.exitCode).to.equal(0)
    })

    it('shell completion is available (bash script)', async () => {
      const r = await runCli(['autocomplete', 'script', 'bash'], {stateDir: t.dir})
      expect(r.exitCode).to.equal(0)
      expect(r.stdout).to.include('REMOTECLAW_AC_BASH_SETUP_PATH')
    })
  })
})
