import type { Database } from '@proj/core'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { add, newList, PROPAGATION, row, screenshot, startApp, status, titles, type App } from './harness.js'

let app: App

beforeAll(async () => {
  app = await startApp()
})

afterAll(async () => {
  await app?.close()
})

type AppWindow = { todoApp: { db: Database } }

/** A document as the page's database holds it, in a form that survives the trip out of the page. */
const stored = (page: Page, id: string) =>
  page.evaluate(async (id) => {
    const doc = await (window as unknown as AppWindow).todoApp.db.get(id)
    return Object.fromEntries(
      Object.entries(doc).map(([key, value]) => [key, value instanceof Uint8Array ? { bytes: [...value] } : value]),
    )
  }, id)
const clock = (page: Page) => page.evaluate(() => (window as unknown as AppWindow).todoApp.db.clock())
const isDone = (page: Page, id: string) => page.locator(`#todos li[data-id="${id}"]`).evaluate((li) => li.classList.contains('done'))

describe('documents the page did not write (another app, version or import)', () => {
  it('are shown as they are, stay stable across renders, and only what the user changes is written', async () => {
    const { page: a, link } = await newList(app)
    const b = await app.device()
    await b.goto(link)
    await expect.poll(() => status(b), PROPAGATION).toBe('synced')
    // Written on device B through core directly: no `done`, no `title`, fields of other types, extra fields.
    await b.evaluate(() =>
      (window as unknown as AppWindow).todoApp.db.bulk([
        { _id: 'no-done', title: 'Imported without done', created: 1 },
        { _id: 'no-title', done: false, created: 2, note: 'kept as is' },
        { _id: 'odd', title: { text: 'not a string' }, done: 'yes', created: 'yesterday', extra: new Uint8Array([1, 2, 3]) },
      ]),
    )
    await expect.poll(() => titles(a), PROPAGATION).toEqual(['Imported without done', '(no title)', '(no title)'])

    // `done` missing (or not `true`) is "not done", on every render: each add re-renders the whole list.
    for (const title of ['First render', 'Second render']) {
      expect(await isDone(a, 'no-done')).toBe(false)
      expect(await isDone(a, 'odd')).toBe(false)
      await add(a, title)
    }
    expect(await isDone(a, 'no-done')).toBe(false)
    expect(await row(a, 'Imported without done').locator('.toggle').isChecked()).toBe(false)

    // A row without a title is a full row, says so, and can be double-clicked.
    const untitled = a.locator('#todos li[data-id="no-title"] .title')
    expect((await untitled.boundingBox())!.height).toBeGreaterThanOrEqual(16)
    await screenshot(a, 'unknown-docs')

    // Opening the editor and leaving it writes nothing, whatever the title was.
    const before = await clock(a)
    for (const id of ['no-title', 'odd', 'no-done']) {
      await a.locator(`#todos li[data-id="${id}"] .title`).dblclick()
      await a.press(`#todos li[data-id="${id}"] .edit`, 'Enter')
      await a.locator(`#todos li[data-id="${id}"] .title`).dblclick()
      await a.locator(`#todos li[data-id="${id}"] .edit`).blur()
    }
    expect(await clock(a)).toEqual(before)
    expect(await stored(a, 'no-title')).toEqual({ _id: 'no-title', done: false, created: 2, note: 'kept as is' })
    expect(await stored(a, 'odd')).toMatchObject({ title: { text: 'not a string' }, done: 'yes' })

    // What the user does change is written, and nothing else: the other fields keep their values and types.
    await a.locator('#todos li[data-id="odd"] .toggle').check()
    await a.locator('#todos li[data-id="no-title"] .title').dblclick()
    await a.fill('#todos li[data-id="no-title"] .edit', 'Named at last')
    await a.press('#todos li[data-id="no-title"] .edit', 'Enter')
    await expect.poll(() => stored(b, 'odd'), PROPAGATION).toEqual({
      _id: 'odd',
      title: { text: 'not a string' },
      done: true,
      created: 'yesterday',
      extra: { bytes: [1, 2, 3] },
    })
    await expect
      .poll(() => stored(b, 'no-title'), PROPAGATION)
      .toEqual({ _id: 'no-title', title: 'Named at last', done: false, created: 2, note: 'kept as is' })
    await expect.poll(() => titles(b), PROPAGATION).toEqual([
      'Imported without done',
      'Named at last',
      'First render',
      'Second render',
      '(no title)',
    ])
    expect(app.pageErrors).toEqual([])
  })
})
