import { database } from '@proj/core'
import { describe } from '@proj/core/kit'
import type { ChangeRow, Database, DatabaseOptions } from '@proj/core'
import { createContext, createElement, useContext, useEffect, useMemo, useReducer, useRef, type ReactNode } from 'react'
import { sameValue } from './same.js'

// ---------------------------------------------------------------------------------------------------------------
// useDatabase: one open Database per place (name, dir, storage, branch, key), shared by every component that
// asks for it with the same options.

interface Shared {
  db: Database
  /** The options it was opened with besides those of `cacheKey`, as `otherOptions` gives them. */
  others: Record<string, unknown>
  users: number
  closing: ReturnType<typeof setTimeout> | undefined
}

const open = new Map<string, Shared>()

const LOCATION = ['dir', 'storage', 'branch', 'key']

/** Where the database is: one Database per place (two instances of one place would not see each other's writes). */
function cacheKey(name: string, options: DatabaseOptions): string {
  return JSON.stringify([name, options.dir ?? null, options.storage ?? null, options.branch ?? 'main', options.key ?? null])
}

/** The options that do not say where the database is (durability, compactEvery, … and misspelled ones). */
function otherOptions(options: DatabaseOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([option, value]) => !LOCATION.includes(option) && value !== undefined))
}

/**
 * How long a database opened by a render stays open with no mounted component using it. A render that never
 * commits (a sibling suspended, a transition was abandoned) runs no effect to release what it opened; without
 * this the database stayed open for good (its file lock or IndexedDB connection held). Long enough that a render
 * commits within it; should one not, the effect opens the database again and renders with it.
 */
const UNUSED_OPEN_MS = 1000

function acquire(key: string, name: string, options: DatabaseOptions): Shared {
  let shared = open.get(key)
  if (!shared) {
    shared = { db: database(name, options), others: otherOptions(options), users: 0, closing: undefined }
    open.set(key, shared)
    closeUnused(key, shared, UNUSED_OPEN_MS)
  }
  return shared
}

/** Closes `shared` after `delay` ms unless a component uses it by then. */
function closeUnused(key: string, shared: Shared, delay: number): void {
  if (shared.closing) clearTimeout(shared.closing)
  shared.closing = setTimeout(() => {
    if (shared.users > 0 || open.get(key) !== shared) return
    open.delete(key)
    void shared.db.close()
  }, delay)
}

/** Throws a TypeError when `options` are not those `shared` was opened with: they would be ignored, silently. */
function checkSameOptions(shared: Shared, name: string, options: DatabaseOptions): void {
  const asked = otherOptions(options)
  const differing = [...new Set([...Object.keys(asked), ...Object.keys(shared.others)])].filter(
    (option) => !sameValue(asked[option], shared.others[option]),
  )
  if (differing.length) {
    throw new TypeError(
      `useDatabase(${JSON.stringify(name)}): it is open already with other options (${differing.join(', ')} differ${differing.length === 1 ? 's' : ''}); every useDatabase of one database takes the same options`,
    )
  }
}

/**
 * Opens (or reuses) the database `name` and keeps it open while a component that asked for it is mounted.
 * Components asking for the same name and options share one Database; it is closed shortly after the last
 * of them unmounts (the delay lets React's StrictMode remount without reopening). Asking for an open one with
 * other options (durability, compactEvery, cacheBytes, a misspelled one) is a TypeError naming them: the open
 * Database could not follow them.
 */
export function useDatabase(name: string, options: DatabaseOptions = {}): Database {
  if (typeof name !== 'string' || name === '') throw new TypeError(`useDatabase() expects a database name, got ${describe(name)}`)
  const key = cacheKey(name, options)
  const [reopened, reopen] = useReducer((count: number) => count + 1, 0)
  const shared = useMemo(() => acquire(key, name, options), [key, reopened]) // eslint-disable-line react-hooks/exhaustive-deps
  checkSameOptions(shared, name, options)
  useEffect(() => {
    // The render that opened it may have committed too late, after it was closed unused: take the open one,
    // and render again with it.
    const current = acquire(key, name, options)
    current.users++
    if (current.closing) clearTimeout(current.closing)
    current.closing = undefined
    if (current !== shared) reopen()
    return () => {
      current.users--
      if (current.users === 0) closeUnused(key, current, 0)
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

export function useDb(given: Database | undefined, hook: string): Database {
  const fromContext = useContext(DatabaseContext)
  const db = given ?? fromContext
  if (!db) throw new TypeError(`${hook}: no database (pass { db } or render inside <DatabaseProvider db={db}>)`)
  return db
}

/** Calls `onChange` with the changed rows after every committed transaction of `db`, local or merged from a remote. */
export function useChanges(db: Database, onChange: (changed: ChangeRow[]) => void): void {
  const latest = useRef(onChange)
  latest.current = onChange
  useEffect(() => db.subscribe((changed) => latest.current(changed)), [db])
}
