import { database } from '@proj/core'
import type { Database, DatabaseOptions, Doc, MapFn, QueryOptions, QueryRow, StoredDoc, WriteResult } from '@proj/core'
import { createContext, createElement, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'

// ---------------------------------------------------------------------------------------------------------------
// useDatabase: one open Database per (name, options), shared by every component that asks for it.

interface Shared {
  db: Database
  users: number
  closing: ReturnType<typeof setTimeout> | undefined
}

const open = new Map<string, Shared>()

function cacheKey(name: string, options: DatabaseOptions): string {
  return JSON.stringify([name, options.dir ?? null, options.storage ?? null, options.branch ?? 'main', options.key ?? null])
}

function acquire(key: string, name: string, options: DatabaseOptions): Shared {
  let shared = open.get(key)
  if (!shared) {
    shared = { db: database(name, options), users: 0, closing: undefined }
    open.set(key, shared)
  }
  return shared
}

/**
 * Opens (or reuses) the database `name` and keeps it open while a component that asked for it is mounted.
 * Components asking for the same name and options share one Database; it is closed shortly after the last
 * of them unmounts (the delay lets React's StrictMode remount without reopening).
 */
export function useDatabase(name: string, options: DatabaseOptions = {}): Database {
  if (typeof name !== 'string' || name === '') throw new TypeError(`useDatabase() expects a database name, got ${JSON.stringify(name)}`)
  const key = cacheKey(name, options)
  const shared = useMemo(() => acquire(key, name, options), [key]) // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    // The render that made it may have been discarded and the db closed since: take the current one.
    const current = acquire(key, name, options)
    current.users++
    if (current.closing) clearTimeout(current.closing)
    current.closing = undefined
    return () => {
      current.users--
      if (current.users > 0) return
      current.closing = setTimeout(() => {
        if (current.users > 0 || open.get(key) !== current) return
        open.delete(key)
        void current.db.close()
      }, 0)
    }
  }, [key]) // eslint-disable-line react-hooks/exhaustive-deps
  return shared.db
}

// ---------------------------------------------------------------------------------------------------------------
// Which database the other hooks use: `options.db`, else the nearest <DatabaseProvider>.

const DatabaseContext = createContext<Database | undefined>(undefined)

/** Makes `db` the database of `useLiveQuery` and `useDocument` in the components below. */
export function DatabaseProvider({ db, children }: { db: Database; children?: ReactNode }): ReactNode {
  return createElement(DatabaseContext.Provider, { value: db }, children)
}

function useDb(given: Database | undefined, hook: string): Database {
  const fromContext = useContext(DatabaseContext)
  const db = given ?? fromContext
  if (!db) throw new TypeError(`${hook}: no database (pass { db } or render inside <DatabaseProvider db={db}>)`)
  return db
}

/** Calls `onChange` after every committed transaction of `db`, local or merged from a remote. */
function useChanges(db: Database, onChange: () => void): void {
  const latest = useRef(onChange)
  latest.current = onChange
  useEffect(() => db.subscribe(() => latest.current()), [db])
}

// ---------------------------------------------------------------------------------------------------------------
// useLiveQuery

export interface LiveQueryOptions extends QueryOptions {
  /** The database; default: the nearest <DatabaseProvider>. */
  db?: Database
}

export interface LiveQueryResult<T extends Doc = Doc> {
  rows: QueryRow<T>[]
  /** `row.doc` of every row, when `includeDocs` is set; otherwise empty. */
  docs: StoredDoc<T>[]
  /** True until the first result is in. */
  loading: boolean
  error: Error | undefined
}

/**
 * `db.query(field | mapFn, options)`, re-run after every local or remote change. A map function is
 * identified by its source text, so an inline arrow function does not re-query on every render.
 */
export function useLiveQuery<T extends Doc = Doc>(field: string | MapFn, options: LiveQueryOptions = {}): LiveQueryResult<T> {
  const { db: given, ...query } = options
  const db = useDb(given, 'useLiveQuery()')
  if (typeof field !== 'string' && typeof field !== 'function') {
    throw new TypeError(`useLiveQuery() expects a field name or a map function, got ${JSON.stringify(field)}`)
  }
  const identity = JSON.stringify([typeof field === 'string' ? field : `fn:${field.toString()}`, query])
  const [state, setState] = useState<{ identity: string; db: Database; rows: QueryRow<T>[]; error: Error | undefined; done: boolean }>(
    { identity, db, rows: [], error: undefined, done: false },
  )
  const current = useRef({ field, query })
  current.current = { field, query }
  const generation = useRef(0)

  const run = useCallback(() => {
    const mine = ++generation.current
    const { field, query } = current.current
    db.query<T>(field, query).then(
      ({ rows }) => {
        if (mine === generation.current) setState({ identity, db, rows, error: undefined, done: true })
      },
      (error: unknown) => {
        if (mine === generation.current) setState((previous) => ({ ...previous, identity, db, error: asError(error), done: true }))
      },
    )
  }, [db, identity])

  useEffect(() => {
    run()
    return () => {
      generation.current++
    }
  }, [run])
  useChanges(db, run)

  const fresh = state.identity === identity && state.db === db
  return useMemo(() => {
    const rows = fresh ? state.rows : []
    return {
      rows,
      docs: rows.flatMap((row) => (row.doc ? [row.doc] : [])),
      loading: !fresh || !state.done,
      error: fresh ? state.error : undefined,
    }
  }, [fresh, state])
}

// ---------------------------------------------------------------------------------------------------------------
// useDocument

export interface DocumentHelpers<T extends Doc = Doc> {
  /**
   * Writes the document: the stored version, the edits made with `merge`, then `changes` on top. Without an id
   * a new one is made (uuidv7), and the hook follows that document from then on.
   */
  save(changes?: Partial<T>): Promise<WriteResult>
  /** Edits the document locally (shallow merge) without writing; `save()` writes the edits. */
  merge(changes: Partial<T>): void
  /** Drops the local edits. */
  reset(): void
  /** Deletes the document. */
  del(): Promise<WriteResult | undefined>
  /** True until the stored version has been read. */
  loading: boolean
  /** Unsaved local edits exist. */
  dirty: boolean
  error: Error | undefined
}

export interface DocumentOptions<T extends Doc = Doc> {
  /** The database; default: the nearest <DatabaseProvider>. */
  db?: Database
  /** The document before anything is stored (and for a new document without an id). */
  initial?: Partial<T>
}

/**
 * One document, kept current on local and remote changes: `[doc, { save, merge, reset, del, loading, dirty,
 * error }]`. `doc` is the stored version with the local edits on top (`initial` while nothing is stored),
 * `undefined` when the id is not found and no `initial` is given.
 */
export function useDocument<T extends Doc = Doc>(
  id: string | undefined,
  options: DocumentOptions<T> = {},
): [StoredDoc<T> | T | undefined, DocumentHelpers<T>] {
  const db = useDb(options.db, 'useDocument()')
  if (id !== undefined && (typeof id !== 'string' || id === '')) {
    throw new TypeError(`useDocument() expects a document id or undefined, got ${JSON.stringify(id)}`)
  }
  // A document saved without an id: the hook follows it from then on (until an id is passed).
  const [created, setCreated] = useState<string | undefined>(undefined)
  const docId = id ?? created
  const [stored, setStored] = useState<{ id: string | undefined; doc: StoredDoc<T> | undefined; done: boolean; error: Error | undefined }>(
    { id: docId, doc: undefined, done: docId === undefined, error: undefined },
  )
  const [edits, setEdits] = useState<Partial<T> | undefined>(undefined)
  // Edits belong to one document: another id drops them.
  const [editsFor, setEditsFor] = useState(docId)
  if (editsFor !== docId) {
    setEditsFor(docId)
    setEdits(undefined)
  }
  const generation = useRef(0)

  const read = useCallback(() => {
    const mine = ++generation.current
    if (docId === undefined) {
      setStored({ id: undefined, doc: undefined, done: true, error: undefined })
      return
    }
    db.get<T>(docId).then(
      (doc) => {
        if (mine === generation.current) setStored({ id: docId, doc, done: true, error: undefined })
      },
      (error: unknown) => {
        if (mine !== generation.current) return
        const notFound = error instanceof Error && error.name === 'NotFoundError'
        setStored({ id: docId, doc: undefined, done: true, error: notFound ? undefined : asError(error) })
      },
    )
  }, [db, docId])

  useEffect(() => {
    read()
    return () => {
      generation.current++
    }
  }, [read])
  useChanges(db, read)

  const fresh = stored.id === docId
  const base: StoredDoc<T> | undefined = fresh ? stored.doc : undefined
  const doc = useMemo(() => {
    if (!base && !edits && !options.initial) return undefined
    return { ...(options.initial ?? {}), ...(base ?? {}), ...(edits ?? {}), ...(docId ? { _id: docId } : {}) } as StoredDoc<T> | T
  }, [base, edits, options.initial, docId])

  const latest = useRef({ doc, docId })
  latest.current = { doc, docId }

  const save = useCallback(
    async (changes?: Partial<T>) => {
      const next = { ...(latest.current.doc ?? {}), ...(changes ?? {}) } as T
      const result = await db.put(next)
      setEdits(undefined)
      if (result.id !== latest.current.docId) setCreated(result.id)
      return result
    },
    [db],
  )
  const merge = useCallback((changes: Partial<T>) => setEdits((previous) => ({ ...(previous ?? {}), ...changes })), [])
  const reset = useCallback(() => setEdits(undefined), [])
  const del = useCallback(async () => {
    const target = latest.current.docId
    setEdits(undefined)
    return target === undefined ? undefined : db.del(target)
  }, [db])

  return [
    doc,
    { save, merge, reset, del, loading: !fresh || !stored.done, dirty: edits !== undefined, error: fresh ? stored.error : undefined },
  ]
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

export type { Database, DatabaseOptions, Doc, MapFn, QueryOptions, QueryRow, StoredDoc, WriteResult } from '@proj/core'
