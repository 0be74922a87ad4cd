import { cleanup, renderHook, waitFor } from '@testing-library/react'
import { createElement, StrictMode, type ReactNode } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { useDatabase } from '../src/index.js'
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
})
