import { database } from '@proj/core'
import type { ChangeRow, Database, DatabaseOptions } from '@proj/core'
import { createContext, createElement, useContext, useEffect, useMemo, useRef, type ReactNode } from 'react'

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
