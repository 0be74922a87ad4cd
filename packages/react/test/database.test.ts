import { act, cleanup, render, renderHook, waitFor } from '@testing-library/react'
import type { Database } from '@proj/core'
import { createElement, StrictMode, Suspense, type ReactNode } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { useDatabase, type DatabaseOptions } from '../src/index.js'
import { closeOpened, unique } from './helpers.js'

afterEach(async () => {
  cleanup()
  await closeOpened()
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

  it('refuses to share an open database with other options, naming them, instead of ignoring them', () => {
    // Another component's durability, cache size or a misspelled option was silently dropped: it got the
    // database the first component opened.
    const name = unique('app')
    const dir = unique('device')
    const first = renderHook(() => useDatabase(name, { storage: 'memory', dir, durability: 'process' }))
    const same = renderHook(() => useDatabase(name, { dir, durability: 'process', storage: 'memory', cacheBytes: undefined }))
    expect(same.result.current).toBe(first.result.current)
    const misspelled = { storage: 'memory', dir, durability: 'process', compactevery: 3 } as DatabaseOptions
    expect(() => renderHook(() => useDatabase(name, misspelled))).toThrow(
      new TypeError(`useDatabase(${JSON.stringify(name)}): it is open already with other options (compactevery differs); every useDatabase of one database takes the same options`),
    )
    expect(() => renderHook(() => useDatabase(name, { storage: 'memory', dir, cacheBytes: 1024 }))).toThrow(/other options \(cacheBytes, durability differ\)/)

    // Options that change in a later render of the same component are refused too.
    const changing = renderHook(({ cacheBytes }: { cacheBytes?: number }) => useDatabase(name, { storage: 'memory', dir, durability: 'process', ...(cacheBytes ? { cacheBytes } : {}) }), {
      initialProps: {},
    })
    expect(changing.result.current).toBe(first.result.current)
    expect(() => changing.rerender({ cacheBytes: 1024 })).toThrow(/other options \(cacheBytes differs\)/)
  })

  it('closes a database opened by a render that never committed, and a later mount gets an open one', async () => {
    // A sibling suspended: the render that opened the database was thrown away and ran no effect, so nothing
    // ever closed it (its file lock or IndexedDB connection held for good).
    const name = unique('app')
    const dir = unique('device')
    const rendered: Database[] = []
    function Uses() {
      rendered.push(useDatabase(name, { storage: 'memory', dir }))
      return null
    }
    let resume!: () => void
    const waiting = new Promise<void>((resolve) => (resume = resolve))
    let suspended = true
    function Waits() {
      if (suspended) throw waiting
      return null
    }
    render(createElement(Suspense, { fallback: null }, createElement(Uses), createElement(Waits)))
    const discarded = rendered[0]!
    await waitFor(() => expect(discarded.get('x')).rejects.toMatchObject({ name: 'ClosedError' }))

    suspended = false
    await act(async () => resume())
    const mounted = rendered.at(-1)!
    expect(mounted).not.toBe(discarded)
    await mounted.put({ _id: 'x', n: 1 })
    expect(await mounted.get('x')).toEqual({ _id: 'x', n: 1 })
  })
})
