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
