import net from 'node:net'
import {MAX_LINE_BYTES, type EndpointRequest, type EndpointResponse} from './protocol.js'

/** Thrown when the gateway cannot be asked at all (not running, socket gone, no answer). */
export class EndpointUnreachableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'EndpointUnreachableError'
  }
}

/** One request, one answer, one connection: a stale connection can never carry a later call. */
export function callEndpoint(socketPath: string, request: EndpointRequest, timeoutMs: number): Promise<EndpointResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath)
    let buf = ''
    let done = false
    const finish = (fn: () => void) => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      fn()
    }
    const timer = setTimeout(
      () => finish(() => reject(new EndpointUnreachableError(`the remoteclaw gateway did not answer within ${Math.round(timeoutMs / 1000)} s`))),
      timeoutMs,
    )
    sock.setEncoding('utf8')
    sock.on('connect', () => sock.write(JSON.stringify(request) + '\n'))
    sock.on('data', (chunk: string) => {
      buf += chunk
      if (Buffer.byteLength(buf) > MAX_LINE_BYTES) {
        finish(() => reject(new EndpointUnreachableError('the gateway answer is larger than the tool protocol allows')))
        return
      }
      const nl = buf.indexOf('\n')
      if (nl < 0) return
      const line = buf.slice(0, nl)
      finish(() => {
        try {
          resolve(JSON.parse(line) as EndpointResponse)
        } catch {
          reject(new EndpointUnreachableError('the gateway sent an answer that is not JSON'))
        }
      })
    })
    sock.on('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
          ? `the remoteclaw gateway is not running (no tool socket at ${socketPath})`
          : `cannot reach the remoteclaw gateway at ${socketPath}: ${error.message}`
      finish(() => reject(new EndpointUnreachableError(why)))
    })
    sock.on('close', () => finish(() => reject(new EndpointUnreachableError('the gateway closed the tool connection without an answer'))))
  })
}
