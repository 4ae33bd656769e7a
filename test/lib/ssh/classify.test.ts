import {expect} from 'chai'
import {classifySshFailure} from '../../../src/lib/ssh/exec.js'

describe('classifySshFailure', () => {
  it('a refused key login is an auth failure with the ssh-copy-id fix', () => {
    for (const stderr of ['bot@mac: Permission denied (publickey,keyboard-interactive).', 'Received disconnect from 10.0.0.2 port 22:2: Too many authentication failures']) {
      const e = classifySshFailure(stderr, 'fetching an attachment', 'bot@mac')
      expect(e.code, stderr).to.equal('ssh_auth_failed')
      expect(e.fix).to.include('ssh-copy-id')
    }
  })

  it('a file the Mac user may not read is not a login problem', () => {
    const e = classifySshFailure('scp: /Users/alice/Library/Messages/Attachments/a/b/x.jpg: Permission denied', 'fetching an attachment', 'bot@mac')
    expect(e.code).to.equal('ssh_failed')
    expect(e.message).to.include('Permission denied')
    expect(e.fix ?? '').not.to.include('ssh-copy-id')
  })
})
