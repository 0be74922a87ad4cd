import { MemoryConnector } from '@proj/connector-tests'
import { database, type Database } from '@proj/core'
import { createElement, type ReactNode } from 'react'
import { DatabaseProvider } from '../src/index.js'

const opened: Database[] = []

export const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`

/** A fresh in-memory database (its own dir: its own "device"); closed by `closeOpened()`. */
export function memoryDb(name = unique('db'), dir = unique('device'), key?: string): Database {
  const db = database(name, { storage: 'memory', dir, ...(key ? { key } : {}) })
  opened.push(db)
  return db
}

export async function closeOpened(): Promise<void> {
  for (const db of opened.splice(0)) await db.close()
}

/** A renderHook/render wrapper providing `db`. */
export const provide =
  (db: Database) =>
  ({ children }: { children?: ReactNode }) =>
    createElement(DatabaseProvider, { db }, children)

/** One database on two devices syncing through an in-memory backend, both syncs ready. */
export async function syncedPair() {
  const name = unique('synced')
  const backend = new MemoryConnector()
  const here = memoryDb(name, unique('device-1'))
  const other = memoryDb(name, unique('device-2'), await here.exportKey())
  const syncHere = here.connect(backend)
  const syncThere = other.connect(backend.peer())
  await Promise.all([syncHere.ready, syncThere.ready])
  return { here, other, syncHere, syncThere }
}
