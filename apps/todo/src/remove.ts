import { NotFoundError, type Database } from '@proj/core'

/**
 * Deletes `ids` in one transaction. A todo already gone (a second click, Clear completed twice, a delete from
 * another device or tab that arrived first, the deletion chosen in a conflict on both devices) is what the user
 * asked for: core refuses to delete what this replica holds no live version of (NotFoundError, naming it,
 * nothing written), so it is left out and the rest deleted. With `ifClock`, only at that clock (the caller read
 * what to delete there): a change since rejects with ClockChangedError and nothing is deleted.
 */
export async function removeTodos(db: Database, ids: string[], ifClock?: string[]): Promise<void> {
  let left = [...new Set(ids)]
  while (left.length) {
    try {
      await db.bulk(left.map((id) => ({ _id: id, _deleted: true })), ifClock ? { ifClock } : undefined)
      return
    } catch (error) {
      if (!(error instanceof NotFoundError) || !left.includes(error.id)) throw error
      left = left.filter((id) => id !== error.id)
    }
  }
}
