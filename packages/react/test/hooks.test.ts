import { database, type Database } from '@proj/core'
import { MemoryConnector } from '@proj/connector-tests'
import { act, cleanup, renderHook, waitFor } from '@testing-library/react'
import { createElement, StrictMode, type ReactNode } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { DatabaseProvider, useDatabase, useDocument, useLiveQuery } from '../src/index.js'

const opened: Database[] = []
const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`

/** A fresh in-memory database (its own dir: its own "device"). */
function memoryDb(name = unique('db'), dir = unique('device')): Database {
  const db = database(name, { storage: 'memory', dir })
  opened.push(db)
  return db
}

const provide = (db: Database) => ({ children }: { children?: ReactNode }) => createElement(DatabaseProvider, { db }, children)

afterEach(async () => {
  cleanup()
  for (const db of opened.splice(0)) await db.close()
})

describe('useLiveQuery', () => {
  it('re-renders on local writes, with includeDocs', async () => {
    const db = memoryDb()
    await db.put({ _id: 'a', title: 'milk', done: false })
    const { result } = renderHook(() => useLiveQuery<{ title: string; done: boolean }>('done', { key: false, includeDocs: true }), {
      wrapper: provide(db),
    })
    expect(result.current.loading).toBe(true)
    await waitFor(() => expect(result.current.rows.map((row) => row.id)).toEqual(['a']))
    expect(result.current.loading).toBe(false)
    expect(result.current.docs).toEqual([{ _id: 'a', title: 'milk', done: false }])

    await act(() => db.bulk([{ _id: 'b', title: 'bread', done: false }, { _id: 'c', title: 'eggs', done: true }]))
    await waitFor(() => expect(result.current.rows.map((row) => row.id)).toEqual(['a', 'b']))
    await act(() => db.put({ _id: 'a', title: 'milk', done: true }))
    await waitFor(() => expect(result.current.docs.map((doc) => doc.title)).toEqual(['bread']))
  })

  it('takes a map function and an explicit db, and re-queries when the options change', async () => {
    const db = memoryDb()
    await db.bulk([{ _id: 'x', n: 3 }, { _id: 'y', n: 1 }, { _id: 'z', n: 2 }])
    const { result, rerender } = renderHook(
      ({ descending }: { descending: boolean }) =>
        useLiveQuery((doc, emit) => emit(doc.n), { db, descending }),
      { initialProps: { descending: false } },
    )
    await waitFor(() => expect(result.current.rows.map((row) => row.key)).toEqual([1, 2, 3]))
    rerender({ descending: true })
    await waitFor(() => expect(result.current.rows.map((row) => row.key)).toEqual([3, 2, 1]))
  })

  it('re-renders on a change merged from another device', async () => {
    const name = unique('synced')
    const backend = new MemoryConnector()
    const here = memoryDb(name, unique('device-1'))
    const key = await here.exportKey()
    const other = database(name, { storage: 'memory', dir: unique('device-2'), key })
    opened.push(other)
    const syncHere = here.connect(backend)
    const syncThere = other.connect(backend.peer())
    await Promise.all([syncHere.ready, syncThere.ready])

    const { result } = renderHook(() => useLiveQuery('title', { db: here }))
    await waitFor(() => expect(result.current.loading).toBe(false))
    expect(result.current.rows).toEqual([])

    await other.put({ _id: 'remote', title: 'from the other device' })
    await syncThere.flush()
    await act(() => syncHere.refresh())
    await waitFor(() => expect(result.current.rows.map((row) => row.key)).toEqual(['from the other device']))
    await syncHere.close()
    await syncThere.close()
  })

  it('names a missing database', () => {
    expect(() => renderHook(() => useLiveQuery('title'))).toThrow(
      new TypeError('useLiveQuery(): no database (pass { db } or render inside <DatabaseProvider db={db}>)'),
    )
  })
})

describe('useDocument', () => {
  it('reads, edits locally, saves, follows changes and deletes', async () => {
    const db = memoryDb()
    await db.put({ _id: 'todo', title: 'milk', done: false })
    const { result } = renderHook(() => useDocument<{ title: string; done: boolean }>('todo'), { wrapper: provide(db) })
    await waitFor(() => expect(result.current[0]).toEqual({ _id: 'todo', title: 'milk', done: false }))

    act(() => result.current[1].merge({ done: true }))
    expect(result.current[0]).toEqual({ _id: 'todo', title: 'milk', done: true })
    expect(result.current[1].dirty).toBe(true)
    expect(await db.get('todo')).toEqual({ _id: 'todo', title: 'milk', done: false })

    await act(() => result.current[1].save({ title: 'oat milk' }))
    expect(result.current[1].dirty).toBe(false)
    expect(await db.get('todo')).toEqual({ _id: 'todo', title: 'oat milk', done: true })

    await act(() => db.put({ _id: 'todo', title: 'soy milk', done: true }))
    await waitFor(() => expect(result.current[0]).toEqual({ _id: 'todo', title: 'soy milk', done: true }))

    await act(() => result.current[1].del())
    await waitFor(() => expect(result.current[0]).toBeUndefined())
    await expect(db.get('todo')).rejects.toMatchObject({ name: 'NotFoundError' })
  })

  it('creates a new document from `initial` and follows it after the first save', async () => {
    const db = memoryDb()
    const { result } = renderHook(() => useDocument<{ title: string }>(undefined, { db, initial: { title: '' } }))
    expect(result.current[0]).toEqual({ title: '' })
    act(() => result.current[1].merge({ title: 'new todo' }))
    let id = ''
    await act(async () => {
      id = (await result.current[1].save()).id
    })
    expect(await db.get(id)).toEqual({ _id: id, title: 'new todo' })
    await act(() => db.put({ _id: id, title: 'renamed' }))
    await waitFor(() => expect(result.current[0]).toEqual({ _id: id, title: 'renamed' }))
  })

  it('is undefined for a missing id without `initial`', async () => {
    const db = memoryDb()
    const { result } = renderHook(() => useDocument('nope', { db }))
    await waitFor(() => expect(result.current[1].loading).toBe(false))
    expect(result.current[0]).toBeUndefined()
    expect(result.current[1].error).toBeUndefined()
  })
})

describe('useDatabase', () => {
  it('shares one database per name and options, survives StrictMode, and closes after the last unmount', async () => {
    const name = unique('app')
    const dir = unique('device')
    const strict = ({ children }: { children?: ReactNode }) => createElement(StrictMode, null, children)
    const first = renderHook(() => useDatabase(name, { storage: 'memory', dir }), { wrapper: strict })
    const second = renderHook(() => useDatabase(name, { storage: 'memory', dir }), { wrapper: strict })
    const db = first.result.current
    expect(second.result.current).toBe(db)
    await db.put({ _id: 'kept', n: 1 })
    first.unmount()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(await db.get('kept')).toEqual({ _id: 'kept', n: 1 })
    second.unmount()
    await waitFor(() => expect(db.get('kept')).rejects.toMatchObject({ name: 'ClosedError' }))

    const again = renderHook(() => useDatabase(name, { storage: 'memory', dir }))
    expect(again.result.current).not.toBe(db)
    expect(await again.result.current.get('kept')).toEqual({ _id: 'kept', n: 1 })
    again.unmount()
  })
})
