import type { ChangesCursor, Database } from '@proj/core'

/** How many times a lookup starts again when a compaction took its clock's history away mid-read. */
const ATTEMPTS = 3

/**
 * Whether the database holds a deletion of `id`: `get()` answers NotFoundError for a deleted document and for
 * one never written alike, and only the first is a document deleted under a hook that edits it. `changes()` from
 * the start lists deletions too; a cursor placed just before `id` reads the entry at `id` alone (a walk down
 * the tree, not a scan of every document).
 */
export async function holdsDeletion(db: Database, id: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await lookUp(db, id)
    } catch (error) {
      if (attempt >= ATTEMPTS || !(error instanceof Error) || error.name !== 'HistoryUnavailableError') throw error
    }
  }
}

async function lookUp(db: Database, id: string): Promise<boolean> {
  const clock = await db.clock()
  if (clock.length === 0) return false
  let cursor: ChangesCursor | undefined = { since: [], clock, after: justBefore(id) }
  while (cursor) {
    const { rows, next }: { rows: { key: string; deleted?: true }[]; next?: ChangesCursor } = await db.changes(cursor, { limit: 1 })
    const row = rows[0]
    if (!row || row.key > id) return false
    if (row.key === id) return row.deleted === true
    cursor = next
  }
  return false
}

/**
 * A cursor's `after` from which the next id read is `id` (or one that sorts just before it). The read starts at
 * `after + '\0'`, the smallest string above `after`: exactly `id` when it ends in '\0'; otherwise its last unit
 * one lower and then U+FFFF, above which only ids of those units followed by more sort below `id`.
 */
function justBefore(id: string): string {
  const stem = id.slice(0, -1)
  const last = id.charCodeAt(id.length - 1)
  return last === 0 ? stem : stem + String.fromCharCode(last - 1) + '\uffff'.repeat(4)
}
