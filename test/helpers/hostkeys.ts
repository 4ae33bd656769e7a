import fs from 'node:fs'
import path from 'node:path'
import {REPO_ROOT} from './cli.js'

/**
 * A fixed SSH host private key (OpenSSH format, made by ssh-keygen) from test/fixtures/hostkeys.
 * Keys made by ssh2.utils.generateKeyPairSync at test time were now and then rejected by
 * ssh2.Server ("Malformed OpenSSH private key"), which made host-key tests flaky.
 */
export function hostKeyFixture(name: 'ed25519' | 'ecdsa' | 'ecdsa-other'): string {
  return fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'hostkeys', name), 'utf8')
}
