import type {Context} from '../context.js'
import {updateConfig, type UpdateResult} from '../config/store.js'

/** One change the wizard makes: set a value, or remove a key left over from another deployment. */
export interface ConfigEdit {
  path: string[]
  value?: unknown
  unset?: boolean
}

/**
 * Applies the wizard's edits through the shared config writer (validated, comment-preserving,
 * locked). An unset of a key that is not there is a no-op; an unchanged value is not rewritten,
 * so re-running the wizard yields an empty diff.
 */
export async function applyConfigEdits(ctx: Context, edits: ConfigEdit[], opts: {dryRun: boolean}): Promise<UpdateResult> {
  return updateConfig(
    ctx,
    (doc) => {
      for (const e of edits) {
        if (e.unset) {
          if (doc.get(e.path) !== undefined) doc.unset(e.path)
        } else if (JSON.stringify(doc.get(e.path)) !== JSON.stringify(e.value)) {
          doc.set(e.path, e.value)
        }
      }
    },
    opts,
  )
}
