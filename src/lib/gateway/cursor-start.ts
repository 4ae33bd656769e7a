import type {ResolvedAccount} from '../config/accounts.js'
import type {ImsgClient} from '../imsg/client.js'
import type {Logger} from '../log.js'
import type {AccountState} from '../state/account-state.js'

/**
 * Where a child's watch starts: the saved cursor when it belongs to this database, else the
 * first-start rule (never answer what existed before the gateway first ran).
 */

/**
 * A cursor counts rows of one chat.db: after cliPath or dbPath changes (the bot moved to another
 * Mac or user) it means nothing, and a higher old cursor would silently skip the new rows.
 */
export async function checkCursorSource(state: AccountState, a: ResolvedAccount, log: Logger): Promise<void> {
  const source = JSON.stringify([a.cliPath, a.dbPath ?? ''])
  if (state.source !== undefined && state.source !== source && state.cursor !== 0) {
    log.warn(
      `imsg source changed (cliPath/dbPath was ${state.source}, now ${source}): the saved cursor (row ${state.cursor}) belongs to the other database; starting from the newest message in this one`,
    )
    state.cursor = 0
  }
  if (state.source !== source) {
    state.source = source
    if (state.cursor !== 0) await state.compact()
  }
}

/** Chats looked at for the first-start cursor (newest activity first); rows elsewhere are fenced by date. */
export const FIRST_START_CHATS = 25

/** The highest ROWID among the newest message of each of the `chats` most recently active chats (-1: none), and the newest message time. */
async function scanNewest(client: ImsgClient, chats: number): Promise<{maxRowid: number; newestAt: number}> {
  const list = (await client.chatsList({limit: chats})).chats
  let maxRowid = -1
  let newestAt = 0
  for (const chat of list) {
    const at = chat.last_message_at ? Date.parse(chat.last_message_at) : Number.NaN
    if (Number.isFinite(at) && at > newestAt) newestAt = at
    const {messages} = await client.messagesHistory({chat_id: chat.id, limit: 1})
    const id = messages[0]?.id
    if (typeof id === 'number' && Number.isSafeInteger(id) && id > maxRowid) maxRowid = id
  }
  return {maxRowid, newestAt}
}

/**
 * chat.db replaced at the same path (the bot moved to another Mac behind the same wrapper, or
 * Messages was reset): the source did not change, but the new database's ROWIDs start lower, so
 * the saved cursor would skip every new row for ever. Seen as: the newest ROWID is below the
 * cursor. The newest chat is checked first (two requests); only when it is below, the wider scan.
 * A replacement that has already grown past the old cursor is not detected.
 */
export async function checkDatabaseReplaced(client: ImsgClient, state: AccountState, log: Logger): Promise<void> {
  if (state.cursor <= 0) return
  if ((await scanNewest(client, 1)).maxRowid >= state.cursor) return
  const {maxRowid} = await scanNewest(client, FIRST_START_CHATS)
  if (maxRowid >= state.cursor) return
  log.warn(
    `chat.db was replaced at the same path: its newest message is ${maxRowid === -1 ? 'none (it is empty)' : `row ${maxRowid}`}, below the saved cursor (row ${state.cursor}); starting over from the newest message in this database (first-start rule)`,
  )
  state.cursor = 0
}

/**
 * First run: start after the highest message ROWID now in the database (never answer old
 * history), or from the beginning (-1) when it is empty, so nothing sent while we were down is
 * missed. The newest chat by date need not hold the highest ROWID, so the newest message of each
 * of the most recently active chats counts. And chat.db's newest message time becomes a fence:
 * a row created before it existed before the first start and is never answered, whatever its ROWID.
 */
export async function initCursor(client: ImsgClient, state: AccountState, log: Logger): Promise<void> {
  const {maxRowid: start, newestAt: fence} = await scanNewest(client, FIRST_START_CHATS)
  await state.setCursor(start)
  if (start === -1) state.cursor = -1
  state.firstStartFence = fence > 0 ? fence : undefined
  await state.compact()
  log.info(
    start === -1
      ? 'first start: the database is empty; answering from the first message'
      : `first start: answering messages after row ${start} created after ${new Date(fence).toISOString()} (chat.db's newest message)`,
  )
}
