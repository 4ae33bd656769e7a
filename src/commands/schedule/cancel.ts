import * as Args from '@oclif/core/args'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {NotFoundError, RemoteclawError} from '../../lib/errors.js'
import {ScheduleStore, type ScheduleStatus} from '../../lib/tools/schedule-store.js'

export interface ScheduleCancelJson {
  schemaVersion: 1
  id: string
  status: ScheduleStatus
  chat: string
}

export default class ScheduleCancel extends BaseCommand<typeof ScheduleCancel> {
  static override summary = 'Cancel a scheduled message'
  static override description = `Cancels a message an agent scheduled, by the id \`remoteclaw schedule list\` shows. A running gateway sees the cancel before it sends (no restart needed).

${EXIT_CODES_HELP}
  (4 here: no schedule with that id; 1: it was already sent, cancelled or dropped)`
  static override examples = ['<%= config.bin %> schedule cancel 3f9a1c2d', '<%= config.bin %> schedule cancel 3f9a1c2d --json']

  static override args = {
    id: Args.string({description: 'The schedule id (from `remoteclaw schedule list`).', required: true}),
  }

  async run(): Promise<ScheduleCancelJson> {
    const {args} = await this.parse(ScheduleCancel)
    const ctx = this.ctx
    const store = new ScheduleStore(ctx.stateDir, ctx.now)
    const res = await store.cancel(args.id.trim(), 'cancelled with remoteclaw schedule cancel')
    if (!res) {
      throw new NotFoundError(`no scheduled message with id "${args.id}"`, {code: 'schedule_not_found', fix: 'List them with: remoteclaw schedule list --all'})
    }
    const r = res.record
    if (!res.cancelled) {
      const what = r.status === 'firing' ? 'is being sent right now' : `is already ${r.status}`
      throw new RemoteclawError(`scheduled message ${r.id} ${what}; there is nothing to cancel`, {
        code: 'schedule_not_pending',
        fix: 'See its state with: remoteclaw schedule list --all',
      })
    }
    this.out(`Cancelled ${r.id} (to ${r.chat.target}, due ${new Date(r.dueAt).toISOString()}).`)
    return {schemaVersion: 1, id: r.id, status: r.status, chat: r.chat.target}
  }
}
