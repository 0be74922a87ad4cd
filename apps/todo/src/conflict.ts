import type { Database, StoredDoc } from '@proj/core'
import { removeTodos } from './remove.js'
import { viewOf } from './todo.js'

/**
 * A todo changed on two devices (or tabs) before either saw the other's change: core keeps one version and lists
 * the other in `_conflicts`, so one device's rename or check would vanish from every screen. The row says so,
 * shows the other version, and lets the user keep either; both choices are a write that resolves the conflict.
 */
export interface Conflict {
  /** The version shown (core's winner), as stored. */
  shown: StoredDoc
  /** The first losing version. */
  other: StoredDoc
}

/** The conflict of document `id`, or undefined (none, or the document is gone). */
export async function conflictOf(db: Database, id: string): Promise<Conflict | undefined> {
  let doc: StoredDoc & { _conflicts?: StoredDoc[] }
  try {
    doc = await db.get(id, { conflicts: true })
  } catch (error) {
    if (error instanceof Error && error.name === 'NotFoundError') return undefined
    throw error
  }
  const { _conflicts: losers, ...shown } = doc
  const other = losers?.find((loser) => !(loser as { _deleted?: unknown })._deleted) ?? losers?.[0]
  return other ? { shown: shown as StoredDoc, other } : undefined
}

/**
 * How the other version differs from the one shown, in words: a title is its own part, to be shown isolated
 * (`<bdi>`), so that right-to-left or override characters in it cannot reorder the words around it.
 */
export function describeOther({ shown, other }: Conflict): (string | { title: string })[] {
  if ((other as { _deleted?: unknown })._deleted) return ['deleted']
  const a = viewOf(shown)
  const b = viewOf(other)
  const parts: (string | { title: string })[] = []
  if (a.title !== b.title) parts.push(b.title === '' ? '(no title)' : { title: b.title })
  if (a.done !== b.done) parts.push(b.done ? 'done' : 'not done')
  if (a.image?.cid !== b.image?.cid) parts.push(b.image ? 'another image' : 'no image')
  return parts.length ? parts : ['other fields']
}

/**
 * Writes `version` over every version of the document: the conflict is resolved the way the user chose. A
 * deletion chosen when the todo is gone already (the other device chose it first, and this screen was a step
 * behind) is done: nothing is written, and no error.
 */
export async function keep(db: Database, version: StoredDoc): Promise<void> {
  if ((version as { _deleted?: unknown })._deleted) await removeTodos(db, [version._id])
  else await db.put(version)
}
