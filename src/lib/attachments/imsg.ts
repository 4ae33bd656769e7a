import type {EnvelopeAttachment} from '../core/envelope.js'
import type {ImsgAttachment} from '../imsg/types.js'

/**
 * An attachment object as imsg emits it (protocol §5.3; the documented `path`/`byte_size` never
 * appear). Every key optional here: a lenient reader of what arrives over the wire.
 */
export type ImsgWireAttachment = Partial<ImsgAttachment>

/**
 * imsg wire attachment -> EnvelopeAttachment. `original_path` is already `~`-expanded on the
 * Mac for the user running imsg; the raw `filename` (with `~`) is the fallback. `missing` is
 * trusted when present, else a missing path means missing.
 */
export function fromImsgAttachment(wire: ImsgWireAttachment): EnvelopeAttachment {
  const originalPath = (typeof wire.original_path === 'string' && wire.original_path) || (typeof wire.filename === 'string' ? wire.filename : '')
  const base = originalPath.split('/').filter(Boolean).pop() ?? ''
  const size = typeof wire.total_bytes === 'number' && Number.isFinite(wire.total_bytes) && wire.total_bytes > 0 ? wire.total_bytes : 0
  return {
    originalPath,
    name: (typeof wire.transfer_name === 'string' && wire.transfer_name) || base,
    mimeType: typeof wire.mime_type === 'string' ? wire.mime_type : '',
    size,
    missing: typeof wire.missing === 'boolean' ? wire.missing || originalPath === '' : originalPath === '',
  }
}
