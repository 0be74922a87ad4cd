import type { Database, Doc, NotFoundError, StoredDoc, WriteResult } from '@proj/core'
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { asError } from './as-error.js'
import { DocumentDeletedError } from './errors.js'
import { useChanges, useDb } from './database.js'
import { describe } from '@proj/core/kit'
import { sameValue } from './same.js'

/** The document a `useDocument` starts from: with an `_id` it follows that stored document. */
export type DocumentInitial<T extends Doc = Doc> = Partial<T> & { _id?: string }

export interface DocumentOptions {
  /** The database; default: the nearest <DatabaseProvider>. */
  db?: Database
}

export interface UseDocumentResult<T extends Doc = Doc> {
  /**
   * The document as it would be saved: the initial value, the stored version on top of it (once read), the
   * local edits on top of that. `_id` is set once the document is stored.
   */
  doc: T & { _id?: string }
  /** Edits fields locally (shallow merge) without writing. */
  merge(changes: Partial<T>): void
  /** Replaces the whole local document (fields it lacks are removed on save) without writing. */
  replace(doc: T): void
  /** Discards the local edits. */
  reset(): void
  /**
   * Writes the newest stored version with the local edits and `changes` on top (a new document without an id: the
   * hook follows it from then on). Edits made while it writes are kept.
   */
  save(changes?: Partial<T>): Promise<WriteResult>
  /**
   * For `<form onSubmit={submit}>`: prevents the event's default, saves, then starts over from the initial
   * document (a fresh new one when the initial document has no `_id`). A second submit while one is saving
   * waits for it instead of saving twice.
   */
  submit(event?: { preventDefault?: () => void }): Promise<WriteResult>
  /**
   * Deletes the stored document (when there is one: one already gone, after a second remove() or a delete
   * from another device, resolves with undefined) and starts over from the initial document.
   */
  remove(): Promise<WriteResult | undefined>
  /** True while the stored version of the followed id has not been read yet. */
  loading: boolean
  /** Unsaved local edits exist. */
  dirty: boolean
  /** Reading the stored version failed (a missing document is not an error). */
  error: Error | undefined
  /**
   * The followed document is deleted: the database holds its deletion (on another device, or by another write),
   * whether it came before this hook first read it (the hook mounted for a document deleted meanwhile), while
   * that read was answering, or later. `save()` and `submit()` then reject with `DocumentDeletedError` and write
   * nothing (the edits alone would make a half-empty document); `replace()` with the whole document, then
   * `save()`, brings it back. False for an id never written (`save()` makes it), and after this hook's own
   * `remove()` until the document is stored again.
   */
  deleted: boolean
}

/** What the hook is editing: the id it follows (none yet for a new document) and the unsaved edits. */
interface Session<T extends Doc> {
  db: Database
  /** The initial document's `_id` this session started from; another one starts another session. */
  startId: string | undefined
  id: string | undefined
  edits: Partial<T> | undefined
  /** `replace()` was called: the edits are the whole document. */
  replaced: boolean
}

interface Stored<T extends Doc> {
  db: Database
  id: string | undefined
  doc: StoredDoc<T> | undefined
  /** No stored version, and the database holds the id's deletion. */
  deleted: boolean
  done: boolean
  error: Error | undefined
}

/** What a read of the followed id found: its stored version, or none and whether that is a deletion. */
interface ReadState<T extends Doc> {
  doc: StoredDoc<T> | undefined
  deleted: boolean
}

/**
 * One document, kept current on local and remote changes, with local edits: as `useDocument` of use-fireproof,
 * `const { doc, merge, replace, reset, save, submit, remove } = useDocument({ title: '', done: false })`.
 * `initial` (or a function returning it) gives the fields before anything is stored; with an `_id` the hook
 * follows that document.
 */
export function useDocument<T extends Doc = Doc>(
  initial: DocumentInitial<T> | (() => DocumentInitial<T>) = {},
  options: DocumentOptions = {},
): UseDocumentResult<T> {
  const db = useDb(options.db, 'useDocument()')
  const start = useStable(checkInitial(typeof initial === 'function' ? initial() : initial))
  const startId = start._id

  const [sessionState, setSessionState] = useState<Session<T>>(() => freshSession(db, startId))
  let session = sessionState
  if (session.db !== db || session.startId !== startId) {
    // Another document (or database): its own session, edits of the previous one dropped.
    session = freshSession(db, startId)
    setSessionState(session)
  }
  // The newest session for the callbacks, which may run before React re-renders (e.g. merge() then save()).
  const current = useRef(session)
  current.current = session
  const update = useCallback((next: Session<T>) => {
    current.current = next
    setSessionState(next)
  }, [])
  const startRef = useRef(start)
  startRef.current = start

  const id = session.id
  const [stored, setStored] = useState<Stored<T>>({ db, id, doc: undefined, deleted: false, done: id === undefined, error: undefined })
  // Reads are numbered; one is shown when no later read has answered and it still reads the followed id (as
  // useLiveQuery's runs): with changes coming faster than a read answered, none was shown while they lasted.
  const reads = useRef({ started: 0, answered: 0, void: 0 })
  // The ids this hook deleted itself (remove()), per database, until it reads or writes them stored again: their
  // deletion is what the hook was asked for, so they are not `deleted`, and a save makes them anew.
  const removedHereRef = useRef(new WeakMap<Database, Set<string>>())
  const removedHere = useCallback((db: Database) => {
    let ids = removedHereRef.current.get(db)
    if (!ids) removedHereRef.current.set(db, (ids = new Set()))
    return ids
  }, [])
  const read = useCallback(() => {
    const mine = ++reads.current.started
    const current = () => mine > reads.current.void && mine > reads.current.answered
    if (id === undefined) {
      reads.current.answered = mine
      setStored({ db, id, doc: undefined, deleted: false, done: true, error: undefined })
      return
    }
    readState<T>(db, id).then(
      ({ doc, deleted }) => {
        if (!current()) return
        reads.current.answered = mine
        if (doc) removedHere(db).delete(id)
        setStored((previous) => (isSame(previous, db, id, doc, deleted) ? previous : { db, id, doc, deleted, done: true, error: undefined }))
      },
      (error: unknown) => {
        if (!current()) return
        reads.current.answered = mine
        setStored({ db, id, doc: undefined, deleted: false, done: true, error: asError(error) })
      },
    )
  }, [db, id])
  useEffect(() => {
    read()
    return () => {
      reads.current.void = reads.current.started
    }
  }, [read])
  useChanges(db, (changed) => {
    if (id !== undefined && changed.some((row) => row.key === id)) read()
  })

  const storedFresh = stored.db === db && stored.id === id
  const base = storedFresh ? stored.doc : undefined
  const doc = useMemo(() => {
    const { _id: _startId, ...defaults } = start
    const shown: Doc = session.replaced ? { ...session.edits } : { ...defaults, ...base, ...session.edits }
    delete shown._id
    return (id === undefined ? shown : { ...shown, _id: id }) as T & { _id?: string }
  }, [start, base, session, id])

  // Writes run one after another, each from the newest session: a second save() of a new document waits for
  // the first and then writes to the id it made instead of making another document.
  const queue = useRef<Promise<unknown>>(Promise.resolve())
  const enqueue = useCallback(<R>(op: () => Promise<R>): Promise<R> => {
    const result = queue.current.then(op, op)
    queue.current = result.catch(() => undefined)
    return result
  }, [])

  /** The session is still the one `from` started (no other initial document or database since). */
  const stillSame = (from: Session<T>) => current.current.db === from.db && current.current.startId === from.startId
  /**
   * What a write called now writes once its turn comes: the session then, when it is still this document's
   * (a save after another save of a new document writes to the id that one made), else the session now, not
   * the document the hook has moved on to meanwhile.
   */
  const calledOn = () => {
    const called = { session: current.current, start: startRef.current }
    return () => (stillSame(called.session) ? { session: current.current, start: startRef.current } : called)
  }

  /** Writes the session's document; returns what was written and the session it was written from. */
  const write = useCallback(async (changes: Partial<T> | undefined, turn: () => { session: Session<T>; start: DocumentInitial }) => {
    const { session: from, start: initial } = turn()
    const extra = changes === undefined ? {} : withoutId(checkChanges(changes, from.id, 'save()'))
    let next: Doc
    if (from.replaced) {
      next = { ...from.edits, ...extra }
    } else {
      const { _id: _startId, ...defaults } = initial
      // The newest stored version, not the one last rendered: fields changed elsewhere since are kept.
      const newest = from.id === undefined ? undefined : await readState<T>(from.db, from.id)
      if (from.id !== undefined && newest?.deleted && !removedHere(from.db).has(from.id)) throw new DocumentDeletedError(from.id)
      next = { ...defaults, ...newest?.doc, ...from.edits, ...extra }
    }
    delete next._id
    if (from.id !== undefined) next._id = from.id
    const result = await from.db.put(next)
    removedHere(from.db).delete(result.id)
    return { result, written: { ...next, _id: result.id } as StoredDoc<T>, from }
  }, [])
  const showWritten = useCallback((written: StoredDoc<T>) => {
    // Shown at once (the read after the commit confirms it), so the fields do not flash the older version.
    setStored({ db, id: written._id, doc: written, deleted: false, done: true, error: undefined })
  }, [db])

  const save = useCallback(
    (changes?: Partial<T>) => {
      const turn = calledOn()
      return enqueue(async () => {
        const { result, written, from } = await write(changes, turn)
        if (stillSame(from)) {
          const now = current.current
          const editedMeanwhile = now.edits !== from.edits
          update({ ...now, id: result.id, edits: editedMeanwhile ? now.edits : undefined, replaced: editedMeanwhile && now.replaced })
          showWritten(written)
        }
        return result
      })
    },
    [enqueue, write, update, showWritten], // eslint-disable-line react-hooks/exhaustive-deps
  )

  // The submit in flight and the session it submits: a submit of another document (the `_id` changed meanwhile)
  // is a submit of its own, not a repeat of that one.
  const submitting = useRef<{ done: Promise<WriteResult>; from: Session<T> } | undefined>(undefined)
  const submit = useCallback(
    (event?: { preventDefault?: () => void }) => {
      event?.preventDefault?.()
      const pending = submitting.current
      if (pending && stillSame(pending.from)) return pending.done
      const turn = calledOn()
      const done = enqueue(async () => {
        const { result, written, from } = await write(undefined, turn)
        if (stillSame(from)) {
          update(freshSession(from.db, from.startId))
          if (result.id === from.startId) showWritten(written)
        }
        return result
      })
      submitting.current = { done, from: current.current }
      const clear = () => {
        if (submitting.current?.done === done) submitting.current = undefined
      }
      done.then(clear, clear)
      return done
    },
    [enqueue, write, update, showWritten], // eslint-disable-line react-hooks/exhaustive-deps
  )

  const remove = useCallback(
    () => {
      const turn = calledOn()
      return enqueue(async () => {
        const { session: from } = turn()
        // This hook's own delete: a save after it makes the document anew, as asked.
        if (from.id !== undefined) removedHere(from.db).add(from.id)
        const result = from.id === undefined ? undefined : await deleteStored(from.db, from.id)
        if (stillSame(from)) update(freshSession(from.db, from.startId))
        return result
      })
    },
    [enqueue, update], // eslint-disable-line react-hooks/exhaustive-deps
  )

  const merge = useCallback(
    (changes: Partial<T>) => {
      const now = current.current
      update({ ...now, edits: { ...now.edits, ...withoutId(checkChanges(changes, now.id, 'merge()')) } })
    },
    [update],
  )
  const replace = useCallback(
    (whole: T) => {
      const now = current.current
      update({ ...now, edits: withoutId(checkChanges(whole, now.id, 'replace()')), replaced: true })
    },
    [update],
  )
  const reset = useCallback(() => update({ ...current.current, edits: undefined, replaced: false }), [update])

  const loading = id !== undefined && (!storedFresh || !stored.done)
  const dirty = session.edits !== undefined
  const error = storedFresh ? stored.error : undefined
  const deleted = id !== undefined && storedFresh && stored.done && !stored.error && stored.deleted && !removedHere(db).has(id)
  return useMemo(
    () => ({ doc, merge, replace, reset, save, submit, remove, loading, dirty, error, deleted }),
    [doc, merge, replace, reset, save, submit, remove, loading, dirty, error, deleted],
  )
}

function freshSession<T extends Doc>(db: Database, startId: string | undefined): Session<T> {
  return { db, startId, id: startId, edits: undefined, replaced: false }
}

async function readState<T extends Doc>(db: Database, id: string): Promise<ReadState<T>> {
  try {
    return { doc: await db.get<T>(id), deleted: false }
  } catch (error) {
    // core's NotFoundError says whether the database holds the id's deletion or never had it.
    if (error instanceof Error && error.name === 'NotFoundError') return { doc: undefined, deleted: (error as NotFoundError).deleted === true }
    throw error
  }
}

/**
 * Deletes `id`; one that is gone already (a second remove(), or a delete from another device merged first) is
 * what was asked for, so undefined instead of core's NotFoundError.
 */
async function deleteStored(db: Database, id: string): Promise<WriteResult | undefined> {
  try {
    return await db.del(id)
  } catch (error) {
    if (error instanceof Error && error.name === 'NotFoundError') return undefined
    throw error
  }
}

function isSame<T extends Doc>(previous: Stored<T>, db: Database, id: string, doc: StoredDoc<T> | undefined, deleted: boolean): boolean {
  return previous.db === db && previous.id === id && previous.done && !previous.error && previous.deleted === deleted && sameValue(previous.doc, doc)
}

/** The same object as last render while its content is the same, so an inline `initial` literal is stable. */
function useStable<V>(value: V): V {
  const kept = useRef(value)
  if (!sameValue(kept.current, value)) kept.current = value
  return kept.current
}

function checkInitial<T extends Doc>(initial: unknown): DocumentInitial<T> {
  if (typeof initial === 'string') {
    throw new TypeError(`useDocument() expects the initial document; to follow the stored document ${JSON.stringify(initial)} pass { _id: ${JSON.stringify(initial)} }`)
  }
  if (typeof initial !== 'object' || initial === null || Array.isArray(initial)) {
    throw new TypeError(`useDocument() expects an initial document (an object, optionally with _id) or a function returning one, got ${describe(initial)}`)
  }
  const id = (initial as Doc)._id
  if (id !== undefined && (typeof id !== 'string' || id === '')) {
    throw new TypeError(`useDocument(): the initial document's _id must be a non-empty string, got ${describe(id)}`)
  }
  return initial as DocumentInitial<T>
}

/** `changes` is an object whose `_id`, if any, is the followed one: a hook edits one document. */
function checkChanges<C>(changes: C, id: string | undefined, where: string): C {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) {
    throw new TypeError(`useDocument(): ${where} expects an object of fields, got ${describe(changes)}`)
  }
  const given = (changes as Doc)._id
  if (given !== undefined && given !== id) {
    throw new TypeError(
      typeof given === 'string'
        ? `useDocument(): ${where} cannot move the document to _id ${JSON.stringify(given)} (it edits ${id === undefined ? 'a new document' : JSON.stringify(id)}); pass { _id: ${JSON.stringify(given)} } as the initial document to edit that one`
        : `useDocument(): ${where}: _id must be a non-empty string, got ${describe(given)}`,
    )
  }
  return changes
}

function withoutId<C>(changes: C): C {
  const { _id: _ignored, ...fields } = changes as Doc
  return fields as C
}
