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

/**
 * First run: start from the newest message now in the database (never answer old history),
 * or from the beginning (-1) when it is empty, so nothing sent while we were down is missed.
 */
export async function initCursor(client: ImsgClient, state: AccountState, log: Logger): Promise<void> {
  const {chats} = await client.chatsList({limit: 1})
  let start = -1
  if (chats.length > 0) {
    const {messages} = await client.messagesHistory({chat_id: chats[0]!.id, limit: 1})
    if (messages[0]) start = messages[0].id
  }
  await state.setCursor(start)
  if (start === -1) state.cursor = -1
  await state.compact()
  log.info(start === -1 ? 'first start: the database is empty; answering from the first message' : `first start: answering messages after row ${start}`)
}
