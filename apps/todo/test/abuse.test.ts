import type { Database } from '@proj/core'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { add, checked, glance, joinList, newList, PROPAGATION, row, screenshot, status, titles, startApp, type App } from './harness.js'

let app: App

beforeAll(async () => {
  app = await startApp()
})

afterAll(async () => {
  await app?.close()
})

/** Clicks `selector`'s first match `times` times in one task: faster than any person, before any write commits. */
const clickAtOnce = (page: Page, selector: string, times: number) =>
  page.evaluate(
    ({ selector, times }) => {
      const target = document.querySelector<HTMLElement>(selector)!
      for (let i = 0; i < times; i++) target.click()
    },
    { selector, times },
  )

/** Puts `count` todos titled `<tag>0…` through the page's database, all at once. */
const putMany = (page: Page, tag: string, count: number) =>
  page.evaluate(
    async ({ tag, count }) => {
      const { db } = (window as unknown as { todoApp: { db: { put(doc: object): Promise<unknown> } } }).todoApp
      await Promise.all(Array.from({ length: count }, (_, i) => db.put({ title: `${tag}${i}`, done: false, created: Date.now() + i })))
    },
    { tag, count },
  )

/**
 * Clicks `selector` with the page's next read of the list (allDocs, which the click makes at once; renders read it
 * later) held until the page's database holds a todo with the fields of `until`, merged from another device: that
 * change arrives after the click's read and before its write.
 */
const clickWithListReadHeld = (page: Page, selector: string, until: { title: string; done?: boolean }) =>
  page.evaluate(
    ({ selector, until }) => {
      type Db = { allDocs(...args: unknown[]): Promise<{ rows: { value: Record<string, unknown> }[] }>; subscribe(f: () => void): () => void }
      const { db } = (window as unknown as { todoApp: { db: Db } }).todoApp
      const allDocs = db.allDocs
      const arrived = async () =>
        (await allDocs.call(db)).rows.some((row) => Object.entries(until).every(([field, value]) => row.value[field] === value))
      db.allDocs = async function (...args: unknown[]) {
        db.allDocs = allDocs
        const read = await allDocs.apply(db, args)
        await new Promise<void>((resolve) => {
          const stop = db.subscribe(() => void arrived().then((yes) => yes && (stop(), resolve())))
        })
        return read
      }
      document.querySelector<HTMLElement>(selector)!.click()
    },
    { selector, until },
  )

type HeldWindow = { todoApp: { db: Database }; releaseRenders?: () => void }

/** Holds the page's reads of the list (each render starts with one) until `releaseRenders`: its screen stays as it is. */
const holdRenders = (page: Page) =>
  page.evaluate(() => {
    const held = window as unknown as HeldWindow
    const { db } = held.todoApp
    const allDocs = db.allDocs
    let release = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    held.releaseRenders = () => {
      db.allDocs = allDocs
      release()
    }
    db.allDocs = async function (...args: Parameters<Database['allDocs']>) {
      await gate
      return allDocs.apply(db, args)
    } as Database['allDocs']
  })
const releaseRenders = (page: Page) => page.evaluate(() => (window as unknown as HeldWindow).releaseRenders!())

/** 'stored', or the name of the error reading the todo titled `title` (its row on screen names its id). */
const storedState = (page: Page, title: string) =>
  row(page, title)
    .getAttribute('data-id')
    .then((id) =>
      page.evaluate(
        (id) => (window as unknown as HeldWindow).todoApp.db.get(id).then(() => 'stored', (error: Error) => error.name),
        id!,
      ),
    )

describe('the page under hostile text, impatient clicks and racing tabs', () => {
  it('shows any text as text: markup, scripts, RTL and combining marks, emoji, 500 characters', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    const hostile = [
      `<img src=x onerror="window.pwned='img'">`,
      `<script>window.pwned='script'</script>`,
      `"><svg onload="window.pwned='svg'">`,
      'مرحبا بالعالم ‮txt.exe',
      'Z̤͔ͧ̑̓ä͖̭̈̇l͖͎g̞̥͈o̺ 👩‍👩‍👧‍👦 🏳️‍🌈 ǅ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
      `${'long '.repeat(99)}end!`,
    ]
    for (const text of hostile) await add(a, text)
    await expect.poll(() => titles(b), PROPAGATION).toEqual(hostile)
    for (const page of [a, b]) {
      expect(await page.evaluate(() => (window as { pwned?: unknown }).pwned)).toBeUndefined()
      expect(await page.locator('#todos img:not(.thumb), #todos script, #todos svg:not(.attach svg)').count()).toBe(0)
    }
    // Blank input adds nothing; a title is kept as typed but for its surrounding spaces.
    await a.fill('#new-title', '   \t  ')
    await a.press('#new-title', 'Enter')
    await a.fill('#new-title', '  padded  ')
    await a.press('#new-title', 'Enter')
    await expect.poll(() => titles(b), PROPAGATION).toEqual([...hostile, 'padded'])
    expect(app.pageErrors).toEqual([])
  })

  it('a second click on delete or Clear completed, or a todo deleted elsewhere while edited, is no error', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    for (const title of ['keep', 'delete twice', 'done 1', 'done 2', 'edited here, deleted there']) await add(a, title)
    await expect.poll(() => titles(b), PROPAGATION).toHaveLength(5)

    await clickAtOnce(a, `#todos li:nth-child(2) .delete`, 2)
    await expect.poll(() => titles(b), PROPAGATION).not.toContain('delete twice')

    await row(a, 'done 1').locator('.toggle').check()
    await row(a, 'done 2').locator('.toggle').check()
    // Rendered as done once the writes have committed (the checkbox itself flips at the click).
    await expect.poll(() => a.locator('#todos li.done').count()).toBe(2)
    await clickAtOnce(a, '#clear-done', 2)
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['keep', 'edited here, deleted there'])

    // B empties the title (which deletes the todo) while A deletes it: the row goes on B mid-edit.
    await row(b, 'edited here, deleted there').locator('.title').dblclick()
    await b.fill('#todos li .edit', '')
    await row(a, 'edited here, deleted there').locator('.delete').click()
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['keep'])
    await b.keyboard.press('Enter')

    await expect.poll(() => titles(a), PROPAGATION).toEqual(['keep'])
    // Every write has settled: the keep row's check went through after them, on both devices.
    await row(b, 'keep').locator('.toggle').check()
    await expect.poll(() => checked(a), PROPAGATION).toEqual([true])
    for (const page of [a, b]) expect(await glance(page)).toMatchObject({ status: 'Synced', error: '', titles: ['keep'] })
    expect(await a.locator('#error').isHidden()).toBe(true)
    expect(await b.locator('#error').isHidden()).toBe(true)
    expect(app.pageErrors).toEqual([])
  })

  it('an edit of a todo deleted on another device meanwhile is not lost quietly: the page says so, and restores it whole on request', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    await add(a, 'keep')
    await add(a, 'Walk the dog')
    await row(a, 'Walk the dog').locator('.toggle').check()
    await expect.poll(() => checked(b), PROPAGATION).toEqual([false, true])

    // B is renaming it when A deletes it: the row goes from under B's editor.
    await row(b, 'Walk the dog').locator('.title').dblclick()
    await b.fill('#todos li .edit', 'Walk the dog at six')
    await row(a, 'Walk the dog').locator('.delete').click()
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['keep'])
    await expect.poll(() => b.locator('#deleted-notice').isVisible(), PROPAGATION).toBe(true)
    expect(await b.locator('#deleted-notice').innerText()).toContain('“Walk the dog” was deleted on another device or tab, so your change was not saved.')
    // Nothing was written: no todo with only a title came back.
    expect(await titles(a)).toEqual(['keep'])

    // Restoring writes it whole (done, its place in the list) with B's change.
    await b.getByRole('button', { name: 'Restore it with your change' }).click()
    await expect.poll(() => titles(a), PROPAGATION).toEqual(['keep', 'Walk the dog at six'])
    await expect.poll(() => checked(a), PROPAGATION).toEqual([false, true])
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['keep', 'Walk the dog at six'])
    expect(await b.locator('#deleted-notice').isHidden()).toBe(true)
    for (const page of [a, b]) expect(await page.locator('#error').isHidden()).toBe(true)
    expect(app.pageErrors).toEqual([])
  })

  it('toggle-all changes only done: a rename merged from another device while it runs is kept', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    await add(a, 'Buy milk')
    await add(a, 'Post the letter')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['Buy milk', 'Post the letter'])

    // The rename from B arrives after toggle-all has read the list and before it writes.
    await clickWithListReadHeld(a, '#toggle-all', { title: 'Buy oat milk' })
    await row(b, 'Buy milk').locator('.title').dblclick()
    await b.fill('#todos li .edit', 'Buy oat milk')
    await b.press('#todos li .edit', 'Enter')

    await expect.poll(() => checked(a), PROPAGATION).toEqual([true, true])
    await expect.poll(() => checked(b), PROPAGATION).toEqual([true, true])
    // Before, toggle-all wrote the todos as it had read them: 'Buy milk' again on both devices.
    for (const page of [a, b]) await expect.poll(() => titles(page), PROPAGATION).toEqual(['Buy oat milk', 'Post the letter'])
    expect(app.pageErrors).toEqual([])
  })

  it('Clear completed deletes only what is still done: a todo unchecked on another device while it runs stays', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    await add(a, 'Done and gone')
    await add(a, 'Done, then not')
    await row(a, 'Done and gone').locator('.toggle').check()
    await row(a, 'Done, then not').locator('.toggle').check()
    await expect.poll(() => checked(b), PROPAGATION).toEqual([true, true])

    await clickWithListReadHeld(a, '#clear-done', { title: 'Done, then not', done: false })
    await row(b, 'Done, then not').locator('.toggle').uncheck()
    for (const page of [a, b]) await expect.poll(() => titles(page), PROPAGATION).toEqual(['Done, then not'])
    expect(await checked(a)).toEqual([false])
    expect(app.pageErrors).toEqual([])
  })

  it('rapid toggles end where the last click left them, on both devices', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    await add(a, 'odd')
    await add(a, 'even')
    await clickAtOnce(a, '#todos li:nth-child(1) .toggle', 7)
    await clickAtOnce(a, '#todos li:nth-child(2) .toggle', 8)
    await expect.poll(() => checked(b), PROPAGATION).toEqual([true, false])
    // Settled: a later write from B arrives after all of them.
    await add(b, 'after')
    await expect.poll(() => titles(a), PROPAGATION).toEqual(['odd', 'even', 'after'])
    expect(await checked(a)).toEqual([true, false, false])
    expect(await checked(b)).toEqual([true, false, false])
  })

  it('a todo changed on two devices at once shows the other version on both, and either can be kept', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    // A right-to-left override in the new title: it must not reorder the words of the notice around it.
    const renamed = 'Paint the shed \u202Egreen'
    await add(a, 'Paint the shed')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['Paint the shed'])
    await a.context().setOffline(true)
    await b.context().setOffline(true)
    await row(a, 'Paint the shed').locator('.toggle').check()
    await row(b, 'Paint the shed').locator('.title').dblclick()
    await b.fill('#todos li .edit', renamed)
    await b.press('#todos li .edit', 'Enter')
    // Both writes committed here before either device is back.
    await expect.poll(() => row(a, 'Paint the shed').getAttribute('class')).toBe('done')
    await expect.poll(() => titles(b)).toEqual([renamed])
    await a.context().setOffline(false)
    await b.context().setOffline(false)

    // One version wins on both devices (core's rule); the other is not dropped from sight.
    const notice = (page: Page) => page.locator('#todos li .conflict:not([hidden]) span').textContent({ timeout: PROPAGATION.timeout })
    const said = await notice(a)
    expect(await notice(b)).toBe(said)
    await screenshot(b, 'conflict')
    const renameWon = said === 'Changed on two devices at once. The other version: “Paint the shed”, done.'
    if (!renameWon) expect(said).toBe(`Changed on two devices at once. The other version: “${renamed}”, not done.`)
    expect(await a.locator('#todos li .conflict bdi').textContent()).toBe(renameWon ? 'Paint the shed' : renamed)
    await b.getByRole('button', { name: renameWon ? 'Keep this one' : 'Use the other version' }).click()
    for (const page of [a, b]) {
      await expect.poll(() => titles(page), PROPAGATION).toEqual([renamed])
      await expect.poll(() => page.locator('#todos li .conflict:not([hidden])').count(), PROPAGATION).toBe(0)
      expect(await checked(page)).toEqual([false])
    }
    expect(app.pageErrors).toEqual([])
  })

  it('"Use the other version" when it is a deletion deletes the todo, also when it is gone already: no error, the rest kept', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    await add(a, 'keep')
    await add(a, 'Fix the fence')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['keep', 'Fix the fence'])
    await a.context().setOffline(true)
    await b.context().setOffline(true)
    await row(a, 'Fix the fence').locator('.delete').click()
    await row(b, 'Fix the fence').locator('.toggle').check()
    await expect.poll(() => titles(a)).toEqual(['keep'])
    await expect.poll(() => row(b, 'Fix the fence').getAttribute('class')).toBe('done')
    await a.context().setOffline(false)
    await b.context().setOffline(false)

    // The check wins on both devices (a document beats a deletion); the deletion is the other version.
    const notice = (page: Page) => page.locator('#todos li .conflict:not([hidden]) span').textContent({ timeout: PROPAGATION.timeout })
    for (const page of [a, b]) expect(await notice(page)).toBe('Changed on two devices at once. The other version: deleted.')
    // A chooses the deletion first. B's screen is a step behind (its renders held until the click): its row and
    // notice still show when B makes the same choice of a todo that is gone (before, a raw NotFoundError).
    await holdRenders(b)
    await a.getByRole('button', { name: 'Use the other version' }).click()
    await expect.poll(() => storedState(b, 'Fix the fence'), PROPAGATION).toBe('NotFoundError')
    await b.getByRole('button', { name: 'Use the other version' }).click()
    await releaseRenders(b)
    for (const page of [a, b]) {
      await expect.poll(() => titles(page), PROPAGATION).toEqual(['keep'])
      await expect.poll(() => page.locator('#todos li .conflict:not([hidden])').count(), PROPAGATION).toBe(0)
    }
    // Settled: a later write from A arrives on B after the deletes, and no write failed on either device.
    await row(a, 'keep').locator('.toggle').check()
    await expect.poll(() => checked(b), PROPAGATION).toEqual([true])
    for (const page of [a, b]) expect(await glance(page)).toMatchObject({ error: '', titles: ['keep'] })
    expect(await b.locator('#error').isHidden()).toBe(true)
    expect(app.pageErrors).toEqual([])
  })

  it('two tabs of one browser writing at once while offline lose nothing, and another device gets all of it', async () => {
    const { page: a, link } = await newList(app)
    const tab = await a.context().newPage()
    await tab.goto(link)
    await expect.poll(() => status(tab), PROPAGATION).toBe('synced')
    const b = await joinList(app, link)
    await a.evaluate(() => navigator.serviceWorker.ready.then(() => undefined))

    // The browser's network is down (the sockets notice only at their next heartbeat: no need to wait for it).
    await a.context().setOffline(true)
    await Promise.all([putMany(a, 'a', 12), putMany(tab, 't', 12)])
    const all = [...Array.from({ length: 12 }, (_, i) => `a${i}`), ...Array.from({ length: 12 }, (_, i) => `t${i}`)]
    const sorted = (list: string[]) => [...list].sort()
    // Both tabs show both tabs' writes (one IndexedDB), and a reload offline still has them all.
    await expect.poll(async () => sorted(await titles(a)), PROPAGATION).toEqual(sorted(all))
    await expect.poll(async () => sorted(await titles(tab)), PROPAGATION).toEqual(sorted(all))
    await tab.reload()
    await expect.poll(async () => sorted(await titles(tab)), PROPAGATION).toEqual(sorted(all))
    expect(await titles(b)).toEqual([])

    await a.context().setOffline(false)
    await expect.poll(async () => sorted(await titles(b)), PROPAGATION).toEqual(sorted(all))
    await expect.poll(() => status(a), PROPAGATION).toBe('synced')
    await expect.poll(() => status(tab), PROPAGATION).toBe('synced')
    expect(app.pageErrors).toEqual([])
  })
})
