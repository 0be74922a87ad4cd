import type { Attachment, Database, WriteResult } from '@proj/core'
import { act, cleanup, fireEvent, render, renderHook, waitFor } from '@testing-library/react'
import { createElement, type ChangeEvent } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { DatabaseProvider, DocumentDeletedError, useDocument, useLiveQuery } from '../src/index.js'
import { closeOpened, memoryDb, provide, syncedPair } from './helpers.js'

afterEach(async () => {
  cleanup()
  await closeOpened()
})

type Todo = { title: string; done: boolean; note?: string }

// The README's form and list, as createElement calls.
function NewTodo() {
  const { doc, merge, submit } = useDocument<Todo>({ title: '', done: false })
  return createElement(
    'form',
    { onSubmit: submit },
    createElement('input', {
      'aria-label': 'title',
      value: doc.title,
      onChange: (e: ChangeEvent<HTMLInputElement>) => merge({ title: e.target.value }),
    }),
  )
}

function Todos() {
  const { docs } = useLiveQuery<Todo>('done', { key: false, includeDocs: true })
  return createElement(
    'ul',
    null,
    docs.map((todo) => createElement(TodoItem, { key: todo._id, id: todo._id })),
  )
}

function TodoItem({ id }: { id: string }) {
  const { doc: todo, save } = useDocument<Todo>({ _id: id, title: '', done: false })
  return createElement(
    'li',
    null,
    createElement(
      'label',
      null,
      createElement('input', { type: 'checkbox', checked: todo.done, onChange: () => save({ done: !todo.done }) }),
      todo.title,
    ),
  )
}

describe('useDocument', () => {
  it('the README form: "milk⏎ bread⏎ eggs⏎" makes three todos and clears the input after each', async () => {
    const db = memoryDb()
    const view = render(createElement(DatabaseProvider, { db }, createElement(NewTodo), createElement(Todos)))
    const input = view.getByLabelText('title') as HTMLInputElement
    const form = input.closest('form')!
    for (const title of ['milk', 'bread', 'eggs']) {
      fireEvent.change(input, { target: { value: title } })
      expect(input.value).toBe(title)
      fireEvent.submit(form)
      await waitFor(() => expect(input.value).toBe(''))
    }
    await waitFor(() => expect(view.getAllByRole('listitem').map((item) => item.textContent).sort()).toEqual(['bread', 'eggs', 'milk']))
    const { rows } = await db.allDocs<Todo>()
    expect(rows.map((row) => row.value.title).sort()).toEqual(['bread', 'eggs', 'milk'])
    expect(rows.every((row) => row.value.done === false)).toBe(true)

    // Ticking one off saves it done, and the list of open todos drops it.
    fireEvent.click(view.getByLabelText('bread'))
    await waitFor(() => expect(view.getAllByRole('listitem').map((item) => item.textContent).sort()).toEqual(['eggs', 'milk']))
    const bread = rows.find((row) => row.value.title === 'bread')!.key
    expect(await db.get(bread)).toEqual({ _id: bread, title: 'bread', done: true })
  })

  it('follows a stored document by { _id }: merge, save, remote changes, reset, replace, remove', async () => {
    const db = memoryDb()
    await db.put({ _id: 'todo', title: 'milk', done: false, note: 'two litres' })
    const { result } = renderHook(() => useDocument<Todo>({ _id: 'todo' }), { wrapper: provide(db) })
    expect(result.current.loading).toBe(true)
    await waitFor(() => expect(result.current.doc).toEqual({ _id: 'todo', title: 'milk', done: false, note: 'two litres' }))
    expect(result.current.loading).toBe(false)

    act(() => result.current.merge({ done: true }))
    expect(result.current.doc).toEqual({ _id: 'todo', title: 'milk', done: true, note: 'two litres' })
    expect(result.current.dirty).toBe(true)
    expect(await db.get('todo')).toEqual({ _id: 'todo', title: 'milk', done: false, note: 'two litres' })

    await act(() => result.current.save({ title: 'oat milk' }))
    expect(result.current.dirty).toBe(false)
    expect(await db.get('todo')).toEqual({ _id: 'todo', title: 'oat milk', done: true, note: 'two litres' })
    expect(result.current.doc).toEqual({ _id: 'todo', title: 'oat milk', done: true, note: 'two litres' })

    await act(() => db.put({ _id: 'todo', title: 'soy milk', done: true, note: 'two litres' }))
    await waitFor(() => expect(result.current.doc.title).toBe('soy milk'))

    act(() => result.current.merge({ title: 'typo' }))
    act(() => result.current.reset())
    expect(result.current.doc).toEqual({ _id: 'todo', title: 'soy milk', done: true, note: 'two litres' })
    expect(result.current.dirty).toBe(false)

    act(() => result.current.replace({ title: 'rice milk', done: false }))
    expect(result.current.doc).toEqual({ _id: 'todo', title: 'rice milk', done: false })
    await act(() => result.current.save())
    expect(await db.get('todo')).toEqual({ _id: 'todo', title: 'rice milk', done: false })

    await act(() => result.current.remove())
    await expect(db.get('todo')).rejects.toMatchObject({ name: 'NotFoundError' })
    await waitFor(() => expect(result.current.doc).toEqual({ _id: 'todo' }))
    expect(result.current.dirty).toBe(false)
  })

  it('re-renders with a change to its document merged from another device', async () => {
    const { here, other, syncHere, syncThere } = await syncedPair()
    await here.put({ _id: 'todo', title: 'milk', done: false })
    const { result } = renderHook(() => useDocument<Todo>({ _id: 'todo' }), { wrapper: provide(here) })
    await waitFor(() => expect(result.current.doc.title).toBe('milk'))

    await syncHere.flush()
    await other.put({ _id: 'todo', title: 'oat milk', done: true })
    await syncThere.flush()
    await act(() => syncHere.refresh())
    await waitFor(() => expect(result.current.doc).toEqual({ _id: 'todo', title: 'oat milk', done: true }))
    await syncHere.close()
    await syncThere.close()
  })

  it('save() keeps the fields it was not told to change, even before the stored version was read', async () => {
    const db = memoryDb()
    await db.put({ _id: 'todo', title: 'milk', done: false })
    const { result } = renderHook(() => useDocument<Todo>({ _id: 'todo', title: '', done: false }), { wrapper: provide(db) })
    expect(result.current.loading).toBe(true)
    await act(() => result.current.save({ done: true }))
    expect(await db.get('todo')).toEqual({ _id: 'todo', title: 'milk', done: true })

    // Changed elsewhere after this hook last rendered: the newest stored version is the base of the save.
    act(() => result.current.merge({ done: false }))
    await db.put({ _id: 'todo', title: 'oat milk', done: true })
    await act(() => result.current.save())
    expect(await db.get('todo')).toEqual({ _id: 'todo', title: 'oat milk', done: false })
  })

  it('a new document: saves made at once write one document, which the hook then follows', async () => {
    const db = memoryDb()
    const { result } = renderHook(() => useDocument<{ title: string }>(() => ({ title: '' })), { wrapper: provide(db) })
    expect(result.current.doc).toEqual({ title: '' })
    expect(result.current.loading).toBe(false)
    act(() => result.current.merge({ title: 'new' }))
    let results: WriteResult[] = []
    await act(async () => {
      const { save } = result.current
      results = await Promise.all([save(), save({ title: 'newer' })])
    })
    const id = results[0]!.id
    expect(results[1]!.id).toBe(id)
    expect((await db.allDocs()).rows.map((row) => row.value)).toEqual([{ _id: id, title: 'newer' }])
    expect(result.current.doc).toEqual({ _id: id, title: 'newer' })

    await act(() => db.put({ _id: id, title: 'renamed' }))
    await waitFor(() => expect(result.current.doc).toEqual({ _id: id, title: 'renamed' }))

    // remove() deletes it and starts over with a new document.
    await act(() => result.current.remove())
    expect(result.current.doc).toEqual({ title: '' })
    expect((await db.allDocs()).rows).toEqual([])
  })

  it('submit() twice at once (a double Enter) saves once, then starts a fresh document', async () => {
    const db = memoryDb()
    const { result } = renderHook(() => useDocument<Todo>({ title: '', done: false }), { wrapper: provide(db) })
    act(() => result.current.merge({ title: 'milk' }))
    let prevented = 0
    const event = { preventDefault: () => void prevented++ }
    await act(async () => {
      const { submit } = result.current
      await Promise.all([submit(event), submit(event)])
    })
    expect(prevented).toBe(2)
    expect((await db.allDocs<Todo>()).rows.map((row) => row.value.title)).toEqual(['milk'])
    expect(result.current.doc).toEqual({ title: '', done: false })
    expect(result.current.dirty).toBe(false)
  })

  it('shows a stored version read while changes keep coming faster than reads answer', async () => {
    // Only the newest read's answer was shown: with the document changed again while each read was answering
    // (a collaborator typing, a lazy device fetching), the hook stayed loading until the changes stopped.
    const db = memoryDb()
    await db.put({ _id: 'todo', title: 'v1', done: false })
    // The real database, each get() answer held until the test lets it through: the reads' order is the test's.
    const held: (() => void)[] = []
    const gated = new Proxy(db, {
      get(target, property) {
        if (property === 'get') {
          return async (...args: Parameters<Database['get']>) => {
            const doc = await target.get(...args)
            await new Promise<void>((release) => held.push(release))
            return doc
          }
        }
        const value: unknown = Reflect.get(target, property, target)
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      },
    })
    const { result } = renderHook(() => useDocument<Todo>({ _id: 'todo' }, { db: gated }))
    await waitFor(() => expect(held).toHaveLength(1))
    await act(() => db.put({ _id: 'todo', title: 'v2', done: false }))
    await waitFor(() => expect(held).toHaveLength(2))

    act(() => held[0]!())
    await waitFor(() => expect(result.current.doc.title).toBe('v1'))
    expect(result.current.loading).toBe(false)
    await act(() => db.put({ _id: 'todo', title: 'v3', done: false }))
    await waitFor(() => expect(held).toHaveLength(3))
    act(() => held[2]!())
    await waitFor(() => expect(result.current.doc.title).toBe('v3'))
    // The second read, answering last with v2, does not take the newer version's place.
    await act(async () => {
      held[1]!()
      await new Promise((resolve) => setTimeout(resolve, 0)) // its answer is a few promise steps away, no timer
    })
    expect(result.current.doc.title).toBe('v3')
  })

  it('an initial document given anew with another file or date is the new one, and saves it', async () => {
    // Two Files (or Dates) have no own keys, so the initial document with another one compared equal to the
    // previous and was kept: save() wrote the first file, and the date shown was the first date.
    const db = memoryDb()
    type Photo = { taken: Date; _files: Record<string, File> }
    const photo = (text: string) => new File([text], 'p.txt', { type: 'text/plain', lastModified: 1 })
    const { result, rerender } = renderHook(
      ({ text, taken }: { text: string; taken: number }) => useDocument<Photo>({ taken: new Date(taken), _files: { 'p.txt': photo(text) } }, { db }),
      { initialProps: { text: 'first', taken: 1_000 } },
    )
    const shown = result.current.doc
    rerender({ text: 'first', taken: 1_000 })
    expect(result.current.doc.taken).toEqual(new Date(1_000))
    rerender({ text: 'first', taken: 2_000 })
    expect(result.current.doc).not.toBe(shown)
    expect(result.current.doc.taken).toEqual(new Date(2_000))
    rerender({ text: 'second', taken: 2_000 })
    const { id } = await act(() => result.current.save())
    const stored = await db.get(id)
    expect(stored.taken).toBe(new Date(2_000).toISOString())
    expect(await (await (stored._files as Record<string, Attachment>)['p.txt']!.file()).text()).toBe('second')
  })

  it('a write called before the _id changes goes to the document it was called on: submit, save, remove', async () => {
    // Each write took the session current when its turn came, so one called just before the hook moved to
    // another document wrote that one: save({ done }) ticked off the other todo, remove() deleted it, and a
    // submit for the other one returned the first one's promise, its own edits never written.
    const db = memoryDb()
    await db.bulk([{ _id: 'a', title: 'milk', done: false }, { _id: 'b', title: 'bread', done: false }, { _id: 'c', title: 'eggs', done: false }])
    const { result, rerender } = renderHook(({ id }: { id: string }) => useDocument<Todo>({ _id: id }, { db }), { initialProps: { id: 'a' } })
    await waitFor(() => expect(result.current.doc.title).toBe('milk'))

    // No await between these steps: each write is still waiting for its turn when the _id changes.
    act(() => result.current.merge({ done: true }))
    const submits: Promise<WriteResult>[] = []
    act(() => void submits.push(result.current.submit()))
    rerender({ id: 'b' })
    act(() => result.current.merge({ note: 'wholemeal' }))
    act(() => void submits.push(result.current.submit()))
    expect(submits[1]).not.toBe(submits[0])
    expect((await act(() => Promise.all(submits))).map((written) => written.id)).toEqual(['a', 'b'])
    expect(await db.get('a')).toEqual({ _id: 'a', title: 'milk', done: true })
    expect(await db.get('b')).toEqual({ _id: 'b', title: 'bread', done: false, note: 'wholemeal' })

    let saved: Promise<WriteResult> | undefined
    act(() => void (saved = result.current.save({ done: true })))
    rerender({ id: 'c' })
    expect((await act(() => saved!)).id).toBe('b')
    expect(await db.get('b')).toEqual({ _id: 'b', title: 'bread', done: true, note: 'wholemeal' })
    expect(await db.get('c')).toEqual({ _id: 'c', title: 'eggs', done: false })

    let removed: Promise<WriteResult | undefined> | undefined
    act(() => void (removed = result.current.remove()))
    rerender({ id: 'a' })
    await act(() => removed!)
    await expect(db.get('c')).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(await db.get('a')).toEqual({ _id: 'a', title: 'milk', done: true })
  })

  it('remove() of a document that is gone (a second click, or deleted on another device first) resolves, as documented', async () => {
    const { here, other, syncHere, syncThere } = await syncedPair()
    await here.bulk([{ _id: 'twice', title: 'milk', done: false }, { _id: 'elsewhere', title: 'bread', done: false }])
    await syncHere.flush()
    await syncThere.refresh()
    const twice = renderHook(() => useDocument<Todo>({ _id: 'twice' }, { db: here }))
    await waitFor(() => expect(twice.result.current.doc.title).toBe('milk'))
    // A double click: both calls made before either deletes.
    const removes: Promise<WriteResult | undefined>[] = []
    act(() => void removes.push(twice.result.current.remove(), twice.result.current.remove()))
    const [first, second] = await act(() => Promise.all(removes))
    expect(first?.id).toBe('twice')
    expect(second).toBeUndefined()

    const gone = renderHook(() => useDocument<Todo>({ _id: 'elsewhere' }, { db: here }))
    await waitFor(() => expect(gone.result.current.doc.title).toBe('bread'))
    act(() => gone.result.current.merge({ note: 'unsaved' }))
    await other.del('elsewhere')
    await syncThere.flush()
    await syncHere.refresh()
    await waitFor(() => expect(gone.result.current.doc).toEqual({ _id: 'elsewhere', note: 'unsaved' }))
    expect(await act(() => gone.result.current.remove())).toBeUndefined()
    expect(gone.result.current.doc).toEqual({ _id: 'elsewhere' })
    expect(gone.result.current.dirty).toBe(false)
    await expect(here.get('elsewhere')).rejects.toMatchObject({ name: 'NotFoundError' })
  })

  it('save() of a document deleted on another device writes nothing half-empty: it says deleted, and rejects naming it', async () => {
    const { here, other, syncHere, syncThere } = await syncedPair()
    await here.put({ _id: 'todo', title: 'milk', done: false, note: 'two litres' })
    await syncHere.flush()
    await syncThere.refresh()
    const { result } = renderHook(() => useDocument<Todo>({ _id: 'todo', title: '', done: false }, { db: here }))
    await waitFor(() => expect(result.current.doc.title).toBe('milk'))
    expect(result.current.deleted).toBe(false)

    await other.del('todo')
    await syncThere.flush()
    await act(() => syncHere.refresh())
    await waitFor(() => expect(result.current.deleted).toBe(true))
    // A tick of its checkbox after the delete arrived: before, this wrote { title: '', done: true } under its id.
    const saving = result.current.save({ done: true })
    await expect(act(() => saving)).rejects.toThrow(
      new DocumentDeletedError('todo'),
    )
    await expect(saving).rejects.toMatchObject({ name: 'DocumentDeletedError', id: 'todo' })
    await expect(here.get('todo')).rejects.toMatchObject({ name: 'NotFoundError' })
    // submit() too; the edits stay, as after any failed write.
    act(() => result.current.merge({ title: 'oat milk' }))
    await expect(act(() => result.current.submit())).rejects.toMatchObject({ name: 'DocumentDeletedError' })
    expect(result.current.doc).toEqual({ _id: 'todo', title: 'oat milk', done: false })
    expect(result.current.dirty).toBe(true)
    await expect(here.get('todo')).rejects.toMatchObject({ name: 'NotFoundError' })

    // Brought back deliberately: the whole document, through replace().
    act(() => result.current.replace({ title: 'milk', done: false, note: 'two litres' }))
    await act(() => result.current.save())
    expect(await here.get('todo')).toEqual({ _id: 'todo', title: 'milk', done: false, note: 'two litres' })
    await waitFor(() => expect(result.current.deleted).toBe(false))

    // Its own remove() is no delete from elsewhere: a save after it makes the document anew, as asked.
    await act(() => result.current.remove())
    expect(result.current.deleted).toBe(false)
    await act(() => result.current.save({ title: 'bread' }))
    expect(await here.get('todo')).toEqual({ _id: 'todo', title: 'bread', done: false })
    await syncHere.close()
    await syncThere.close()
  })

  it('a document deleted before the hook first read it says deleted too, and save() writes nothing; one never written is no deletion', async () => {
    // `deleted` came only from a version this hook had read: a row rendered from a list whose todo was deleted
    // before its hook read it said deleted: false, and a tick of its checkbox wrote { title: '', done: true }.
    const db = memoryDb()
    await db.bulk([{ _id: 'gone', title: 'milk', done: false, note: 'two litres' }, { _id: 'a', title: 'bread', done: false }])
    await db.del('gone')
    const { result } = renderHook(() => useDocument<Todo>({ _id: 'gone', title: '', done: false }, { db }))
    // A save before the first read has answered reads the newest state itself.
    const early = result.current.save({ done: true }).catch((error: unknown) => error)
    await waitFor(() => expect(result.current.loading).toBe(false))
    expect(await early).toMatchObject({ name: 'DocumentDeletedError', id: 'gone' })
    expect(result.current.deleted).toBe(true)
    expect(result.current.error).toBeUndefined()
    expect(result.current.doc).toEqual({ _id: 'gone', title: '', done: false })
    await expect(act(() => result.current.save({ done: true }))).rejects.toThrow(new DocumentDeletedError('gone'))
    await expect(db.get('gone')).rejects.toMatchObject({ name: 'NotFoundError' })

    // Never written: no deletion, and save() makes it (a document with a known id, such as settings).
    const fresh = renderHook(() => useDocument<Todo>({ _id: 'settings', title: '', done: false }, { db }))
    await waitFor(() => expect(fresh.result.current.loading).toBe(false))
    expect(fresh.result.current.deleted).toBe(false)
    await act(() => fresh.result.current.save({ title: 'defaults' }))
    expect(await db.get('settings')).toEqual({ _id: 'settings', title: 'defaults', done: false })

    // Its own remove() is no deletion from elsewhere, whenever the hook mounted.
    await act(() => result.current.replace({ title: 'milk', done: false }))
    await act(() => result.current.save())
    await waitFor(() => expect(result.current.deleted).toBe(false))
    await act(() => result.current.remove())
    await waitFor(() => expect(result.current.loading).toBe(false))
    expect(result.current.deleted).toBe(false)
  })

  it('tells a deleted id from one never written whatever the ids around it', async () => {
    // Ids at the edges of the order: ending in NUL, in a surrogate pair (the last unit U+DC00), one unit long,
    // and neighbours that sort between the deleted id and the place its lookup starts from.
    const db = memoryDb()
    const deletedIds = ['x\u0000', '\u{10000}', 'a', 'gone', 'n\u{10000}', 'gone\uffff']
    const neighbours = ['gond\uffff\uffff\uffff\uffff', 'gond\uffff\uffff\uffff\uffff\u0000', 'gond\uffff\uffff\uffff\uffffzz', 'x', 'gon', 'n', 'n\uffff']
    await db.bulk([...deletedIds, ...neighbours].map((_id) => ({ _id, title: _id, done: false })))
    await db.bulk(deletedIds.map((_id) => ({ _id, _deleted: true })))
    const neverWritten = ['x\u0000\u0000', 'gond', 'gone\u0000', '\u{10001}', 'b', 'gond\uffff\uffff\uffff\uffff\u0001']
    for (const [id, deleted] of [...deletedIds.map((id) => [id, true] as const), ...neverWritten.map((id) => [id, false] as const)]) {
      const { result, unmount } = renderHook(() => useDocument<Todo>({ _id: id }, { db }))
      await waitFor(() => expect(result.current.loading).toBe(false))
      expect({ id, deleted: result.current.deleted }).toEqual({ id, deleted })
      unmount()
    }
  })

  it('a document deleted while the first read was answering says deleted, though that read found it stored', async () => {
    // The first read's answer (the stored version) came after the read made for the delete, so it was dropped:
    // the hook had never seen the document stored, and said deleted: false.
    const db = memoryDb()
    await db.put({ _id: 'todo', title: 'milk', done: false, note: 'two litres' })
    // The real database, each get() answer held until the test lets it through: the reads' order is the test's.
    const held: (() => void)[] = []
    const gated = new Proxy(db, {
      get(target, property) {
        if (property === 'get') {
          return async (...args: Parameters<Database['get']>) => {
            const doc = await target.get(...args).catch((error: unknown) => error)
            await new Promise<void>((release) => held.push(release))
            if (doc instanceof Error) throw doc
            return doc
          }
        }
        const value: unknown = Reflect.get(target, property, target)
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      },
    })
    const { result } = renderHook(() => useDocument<Todo>({ _id: 'todo', title: '', done: false }, { db: gated }))
    await waitFor(() => expect(held).toHaveLength(1))
    await act(() => db.del('todo'))
    await waitFor(() => expect(held).toHaveLength(2))
    act(() => held[1]!())
    await waitFor(() => expect(result.current.loading).toBe(false))
    expect(result.current.deleted).toBe(true)
    act(() => held[0]!())
    expect(result.current.deleted).toBe(true)
    const saving = result.current.save({ done: true })
    await waitFor(() => expect(held).toHaveLength(3))
    act(() => held[2]!())
    await expect(act(() => saving)).rejects.toMatchObject({ name: 'DocumentDeletedError', id: 'todo' })
    await expect(db.get('todo')).rejects.toMatchObject({ name: 'NotFoundError' })
  })

  it('a missing id is no error; bad input is a TypeError naming it, and changes nothing', async () => {
    const db = memoryDb()
    const missing = renderHook(() => useDocument<Todo>({ _id: 'nope' }, { db }))
    await waitFor(() => expect(missing.result.current.loading).toBe(false))
    expect(missing.result.current.doc).toEqual({ _id: 'nope' })
    expect(missing.result.current.error).toBeUndefined()

    expect(() => renderHook(() => useDocument('todo' as never, { db }))).toThrow(
      new TypeError('useDocument() expects the initial document; to follow the stored document "todo" pass { _id: "todo" }'),
    )
    expect(() => renderHook(() => useDocument({ _id: 7 } as never, { db }))).toThrow(
      new TypeError("useDocument(): the initial document's _id must be a non-empty string, got number 7"),
    )
    act(() => missing.result.current.merge({ title: 'kept' }))
    expect(() => missing.result.current.merge({ _id: 'other' } as Partial<Todo>)).toThrow(
      new TypeError(
        'useDocument(): merge() cannot move the document to _id "other" (it edits "nope"); pass { _id: "other" } as the initial document to edit that one',
      ),
    )
    expect(() => missing.result.current.merge({ _id: 5 } as never)).toThrow(new TypeError('useDocument(): merge(): _id must be a non-empty string, got number 5'))
    expect(missing.result.current.doc).toEqual({ _id: 'nope', title: 'kept' })
    await expect(missing.result.current.save({ _id: 'other' } as Partial<Todo>)).rejects.toThrow(/save\(\) cannot move the document to _id "other"/)
    await expect(db.get('other')).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(() => renderHook(() => useDocument({}))).toThrow(
      new TypeError('useDocument(): no database (pass { db } or render inside <DatabaseProvider db={db}>)'),
    )
  })
})
