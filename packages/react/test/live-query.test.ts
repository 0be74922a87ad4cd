import type { Doc, Index, MapFn, QueryOptions } from '@proj/core'
import { act, cleanup, renderHook, waitFor } from '@testing-library/react'
import { useMemo } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { useLiveQuery } from '../src/index.js'
import { closeOpened, memoryDb, provide, syncedPair } from './helpers.js'

afterEach(async () => {
  cleanup()
  await closeOpened()
})

/** Two closures of this one source differ only by the captured color. */
const only =
  (color: string): MapFn =>
  (doc) =>
    doc.color === color ? doc.size : undefined
const ids = (rows: { id: string }[]) => rows.map((row) => row.id)

describe('useLiveQuery', () => {
  it('re-renders on local writes, with includeDocs', async () => {
    const db = memoryDb()
    await db.put({ _id: 'a', title: 'milk', done: false })
    const { result } = renderHook(() => useLiveQuery<{ title: string; done: boolean }>('done', { key: false, includeDocs: true }), {
      wrapper: provide(db),
    })
    expect(result.current.loading).toBe(true)
    await waitFor(() => expect(ids(result.current.rows)).toEqual(['a']))
    expect(result.current.loading).toBe(false)
    expect(result.current.docs).toEqual([{ _id: 'a', title: 'milk', done: false }])

    await act(() => db.bulk([{ _id: 'b', title: 'bread', done: false }, { _id: 'c', title: 'eggs', done: true }]))
    await waitFor(() => expect(ids(result.current.rows)).toEqual(['a', 'b']))
    await act(() => db.put({ _id: 'a', title: 'milk', done: true }))
    await waitFor(() => expect(result.current.docs.map((doc) => doc.title)).toEqual(['bread']))
  })

  it('takes a map function and an explicit db, and re-queries when the options change', async () => {
    const db = memoryDb()
    await db.bulk([{ _id: 'x', n: 3 }, { _id: 'y', n: 1 }, { _id: 'z', n: 2 }])
    const { result, rerender } = renderHook(
      ({ descending }: { descending: boolean }) => useLiveQuery((doc, emit) => emit(doc.n), { db, descending }),
      { initialProps: { descending: false } },
    )
    await waitFor(() => expect(result.current.rows.map((row) => row.key)).toEqual([1, 2, 3]))
    rerender({ descending: true })
    await waitFor(() => expect(result.current.rows.map((row) => row.key)).toEqual([3, 2, 1]))
  })

  it('answers each closure of one source with its own rows, and re-runs when the captured value changes', async () => {
    const db = memoryDb()
    await db.bulk([
      { _id: 'a', color: 'red', size: 1 },
      { _id: 'b', color: 'blue', size: 2 },
      { _id: 'c', color: 'red', size: 3 },
    ])
    const red = only('red')
    const blue = only('blue')
    const { result, rerender } = renderHook(
      ({ color }: { color: string }) => {
        const chosen = useMemo(() => only(color), [color])
        return { chosen: useLiveQuery(chosen, { db }), red: useLiveQuery(red, { db }), blue: useLiveQuery(blue, { db }) }
      },
      { initialProps: { color: 'red' } },
    )
    await waitFor(() => expect(ids(result.current.chosen.rows)).toEqual(['a', 'c']))
    expect(ids(result.current.red.rows)).toEqual(['a', 'c'])
    expect(ids(result.current.blue.rows)).toEqual(['b'])

    rerender({ color: 'blue' })
    await waitFor(() => expect(ids(result.current.chosen.rows)).toEqual(['b']))

    // Writes re-render each query with its own answer.
    await act(() => db.bulk([{ _id: 'd', color: 'blue', size: 0 }, { _id: 'e', color: 'red', size: 9 }]))
    await waitFor(() => expect(ids(result.current.chosen.rows)).toEqual(['d', 'b']))
    expect(ids(result.current.blue.rows)).toEqual(['d', 'b'])
    await waitFor(() => expect(ids(result.current.red.rows)).toEqual(['a', 'c', 'e']))
  })

  it('re-runs an inline arrow when a value it captures changes, keeps its rows across re-renders, and settles', async () => {
    const db = memoryDb()
    await db.bulk([{ _id: 'x', n: 3 }, { _id: 'y', n: 1 }, { _id: 'z', n: 2 }])
    let renders = 0
    const { result, rerender } = renderHook(
      ({ min }: { min: number }) => {
        renders++
        return useLiveQuery(
          (doc, emit) => {
            if ((doc.n as number) >= min) emit(doc.n)
          },
          { db },
        )
      },
      { initialProps: { min: 2 } },
    )
    await waitFor(() => expect(result.current.rows.map((row) => row.key)).toEqual([2, 3]))
    rerender({ min: 3 })
    await waitFor(() => expect(result.current.rows.map((row) => row.key)).toEqual([3]))

    // A render that makes the same closure anew does not drop the rows or flash `loading`.
    rerender({ min: 3 })
    expect(result.current.loading).toBe(false)
    expect(result.current.rows.map((row) => row.key)).toEqual([3])

    await act(() => db.put({ _id: 'w', n: 5 }))
    await waitFor(() => expect(result.current.rows.map((row) => row.key)).toEqual([3, 5]))
    // Each answer equal to the shown one ends the re-runs: no render loop while nothing changes.
    const settled = renders
    await act(() => new Promise((resolve) => setTimeout(resolve, 200)))
    expect(renders).toBe(settled)
  })

  it('queries a named index given by { index } or a db.index() handle, live across devices', async () => {
    const { here, other, syncHere, syncThere } = await syncedPair()
    await here.bulk([{ _id: 'a', color: 'red', size: 1 }, { _id: 'b', color: 'blue', size: 2 }])

    const byColor: MapFn = (doc) => doc.color
    const bySize: MapFn = (doc) => doc.size
    const { result, rerender } = renderHook(
      ({ index }: { index: 'byColor' | 'bySize' }) => ({
        named: useLiveQuery(index === 'byColor' ? byColor : bySize, { index, descending: true }),
        handle: useLiveQuery(here.index('byColor', byColor), { key: 'red' }),
      }),
      { wrapper: provide(here), initialProps: { index: 'byColor' as 'byColor' | 'bySize' } },
    )
    await waitFor(() => expect(result.current.named.rows.map((row) => row.key)).toEqual(['red', 'blue']))
    await waitFor(() => expect(ids(result.current.handle.rows)).toEqual(['a']))

    await other.put({ _id: 'c', color: 'red', size: 3 })
    await syncThere.flush()
    await act(() => syncHere.refresh())
    await waitFor(() => expect(ids(result.current.handle.rows)).toEqual(['a', 'c']))
    await waitFor(() => expect(result.current.named.rows.map((row) => row.key)).toEqual(['red', 'red', 'blue']))

    // Another index name is another query: none of the previous index's rows are shown meanwhile.
    rerender({ index: 'bySize' })
    expect(result.current.named.rows).toEqual([])
    expect(result.current.named.loading).toBe(true)
    await waitFor(() => expect(result.current.named.rows.map((row) => row.key)).toEqual([3, 2, 1]))
    await syncHere.close()
    await syncThere.close()
  })

  it('shows an answer while changes keep coming faster than the query answers, never an older one over a newer', async () => {
    // Only the newest run's answer was shown: with a change arriving while each run was still answering (a
    // sync bringing many transactions, a slow index), the list stayed empty and `loading` forever.
    const db = memoryDb()
    await db.put({ _id: 'a', n: 1 })
    // The real db.index() handle, each answer held until the test lets it through: the runs' order is the test's.
    const real = db.index('byN', (doc) => doc.n)
    const held: { answer: () => void }[] = []
    const gated: Index = Object.assign(Object.create(real) as Index, {
      query: async <T extends Doc>(options?: QueryOptions) => {
        const answer = await real.query<T>(options)
        await new Promise<void>((release) => held.push({ answer: release }))
        return answer
      },
    })
    const { result } = renderHook(() => useLiveQuery(gated, { db }))
    await waitFor(() => expect(held).toHaveLength(1))
    await act(() => db.put({ _id: 'b', n: 2 }))
    await waitFor(() => expect(held).toHaveLength(2))

    // The first run answers while the second (started by the change) still runs: its rows are shown.
    act(() => held[0]!.answer())
    await waitFor(() => expect(ids(result.current.rows)).toEqual(['a']))
    expect(result.current.loading).toBe(false)

    // A third run answers before the second: the second's older answer, coming last, does not replace it.
    await act(() => db.put({ _id: 'c', n: 3 }))
    await waitFor(() => expect(held).toHaveLength(3))
    act(() => held[2]!.answer())
    await waitFor(() => expect(ids(result.current.rows)).toEqual(['a', 'b', 'c']))
    await act(async () => {
      held[1]!.answer()
      await db.put({ _id: 'settled', n: 0 }) // its run is a fourth, after the second in every queue
    })
    await waitFor(() => expect(held).toHaveLength(4))
    expect(ids(result.current.rows)).toEqual(['a', 'b', 'c'])
    act(() => held[3]!.answer())
    await waitFor(() => expect(ids(result.current.rows)).toEqual(['settled', 'a', 'b', 'c']))
  })

  it('names a missing database, a source that is not a query, and an index option next to a handle', () => {
    expect(() => renderHook(() => useLiveQuery('title'))).toThrow(
      new TypeError('useLiveQuery(): no database (pass { db } or render inside <DatabaseProvider db={db}>)'),
    )
    const db = memoryDb()
    expect(() => renderHook(() => useLiveQuery(42 as unknown as string, { db }))).toThrow(
      new TypeError('useLiveQuery() expects a field name, a map function or a db.index() handle, got number 42'),
    )
    expect(() => renderHook(() => useLiveQuery(db.index('byColor', (doc) => doc.color), { db, index: 'other' }))).toThrow(
      new TypeError('useLiveQuery(): the db.index("byColor") handle names the index; drop the index option ("other")'),
    )
  })
})
