import { database } from '@proj/core'
import { connect } from '@proj/connect-partykit'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { add, glance, newList, PHONE, PROPAGATION, screenshot, shareLinkOf, status, titles, startApp, type App } from './harness.js'

let app: App

beforeAll(async () => {
  app = await startApp()
})

afterAll(async () => {
  await app?.close()
})

/** A valid key that belongs to no list of these tests. */
const otherKey = async () => {
  const db = database('key-source', { storage: 'memory' })
  const key = await db.exportKey()
  await db.close()
  return key
}
const withKey = (link: string, key: string) => `${link.split('#')[0]}#key=${encodeURIComponent(key)}`
const problem = (page: Page) => page.locator('#problem')
const problemTitle = (page: Page) => page.locator('#problem-title').textContent()
const badge = (page: Page) => page.locator('#status').textContent()

describe('a link that cannot open its list says so on the page, with a way out', () => {
  it('a malformed link: what is wrong with it, and a new list one click away', async () => {
    const page = await app.device({ viewport: PHONE })
    const good = await otherKey()
    const cases: [link: string, says: string][] = [
      [`/?db=todos-abc#key=${good.slice(0, 20)}`, 'mistyped or cut off'],
      [`/?db=todos-abc#key=not*a*key`, 'mistyped or cut off'],
      [`/?db=todos-abc`, 'has no key'],
      // The ?db=… part lost (cut by a chat app, or retyped): not a new list that drops the key.
      [`/#key=${good}`, 'names no list'],
      [`/?list=todos-abc#key=${good}`, 'names no list'],
      [`/?db=${encodeURIComponent('no spaces allowed')}#key=${good}`, 'name must be'],
    ]
    for (const [link, says] of cases) {
      // Two cases differ only in the fragment: without leaving the page first, the poll below could read the
      // previous case's problem just before the app reloads for the new fragment.
      await page.goto('about:blank')
      await page.goto(`${app.server.url}${link}`)
      await expect.poll(() => problemTitle(page), PROPAGATION).toBe('This link is broken')
      expect(await problem(page).textContent()).toContain(says)
      // Never the key itself.
      expect(await problem(page).textContent()).not.toContain(good.slice(0, 20))
      expect(await status(page)).toBe('error')
      expect(await badge(page)).toBe('Broken link')
      expect(await page.locator('#app').isHidden()).toBe(true)
    }
    await screenshot(page, 'broken-link-phone')
    await page.getByRole('link', { name: 'Start a new list' }).first().click()
    await expect.poll(() => status(page), PROPAGATION).toBe('synced')
    expect(await page.inputValue('#share-link')).toMatch(/#key=/)
    expect(await problem(page).isHidden()).toBe(true)
    expect(app.pageErrors).toEqual([])
  })

  it("a key that opens none of the room's data: nothing shown, nothing kept, and the right link works after", async () => {
    const { page: a, link } = await newList(app)
    await add(a, 'Only with the right key')
    await a.evaluate(() => (window as unknown as { todoApp: { sync: { flush(): Promise<unknown> } } }).todoApp.sync.flush())

    const b = await app.device({ viewport: PHONE })
    await b.goto(withKey(link, await otherKey()))
    await expect.poll(() => problemTitle(b), PROPAGATION).toMatch(/^The key in this link does not open list todos-/)
    expect(await badge(b)).toBe('Wrong key')
    expect(await b.locator('#app').isHidden()).toBe(true)
    expect(await problem(b).textContent()).toContain('This device kept nothing of it')
    await screenshot(b, 'wrong-key-phone')
    // Not remembered among this device's lists.
    await b.goto(`${app.server.url}/`)
    await expect.poll(() => status(b), PROPAGATION).toBe('synced')
    expect(await b.locator('#recent-lists a').count()).toBe(0)

    await b.goto(link)
    await expect.poll(() => glance(b), PROPAGATION).toMatchObject({ problem: '', titles: ['Only with the right key'] })
    await expect.poll(() => status(b), PROPAGATION).toBe('synced')
    expect(app.pageErrors).toEqual([])
  })

  it('a device that keeps the list with another key offers its own copy, or to forget it for the link', async () => {
    const { page: a, link } = await newList(app)
    await add(a, 'Shared todo')
    await a.evaluate(() => (window as unknown as { todoApp: { sync: { flush(): Promise<unknown> } } }).todoApp.sync.flush())
    const wrong = withKey(link, await otherKey())

    // Device A already has the list: a wrong link for it.
    await a.goto(wrong)
    await expect.poll(() => problemTitle(a), PROPAGATION).toMatch(/^This device keeps list todos-\w+ with another key$/)
    expect(await badge(a)).toBe('Wrong key')
    expect((await glance(a)).problem).toContain("Open this device's copy (1 todo)")
    await a.getByRole('link', { name: "Open this device's copy (1 todo)" }).click()
    await expect.poll(() => glance(a), PROPAGATION).toMatchObject({ problem: '', titles: ['Shared todo'] })
    expect(a.url()).toBe(link)

    // Device C keeps the list with the right key; told to forget its copy for a wrong link, it takes the link's
    // key (which the room then refuses, keeping nothing), and the right link brings the list back.
    const c = await app.device()
    await c.goto(link)
    await expect.poll(() => glance(c), PROPAGATION).toMatchObject({ status: 'Synced', titles: ['Shared todo'] })
    await c.goto(wrong)
    await expect.poll(() => problemTitle(c), PROPAGATION).toMatch(/^This device keeps list todos-\w+ with another key$/)
    let question = ''
    c.once('dialog', (dialog) => {
      question = dialog.message()
      void dialog.accept()
    })
    await c.getByRole('button', { name: "Forget this device's copy, use the link's key" }).click()
    await expect.poll(() => glance(c), PROPAGATION).toMatchObject({
      status: 'Wrong key',
      problem: expect.stringContaining('This device kept nothing of it'),
    })
    expect(question).toMatch(/^Delete this device's copy of todos-\w+ \(1 todo\)\? Todos that never reached the sync server are lost\.$/)
    await c.goto(link)
    await expect.poll(() => glance(c), PROPAGATION).toMatchObject({ status: 'Synced', problem: '', titles: ['Shared todo'] })
    expect(app.pageErrors).toEqual([])
  })

  it('todos written with a wrong key before the server could say so are shown, and move to a new list; the room gets none', async () => {
    const { page: a, link } = await newList(app)
    await add(a, 'Only with the right key')
    await a.evaluate(() => (window as unknown as { todoApp: { sync: { flush(): Promise<unknown> } } }).todoApp.sync.flush())
    const room = new URL(link).searchParams.get('db')!
    const entries = async () => ((await (await fetch(`${app.server.url}/parties/main/${room}/meta/main`)).json()) as { entries: unknown[] }).entries.length
    const before = await entries()

    // C cannot reach the sync server while it opens the wrong link and writes.
    const c = await app.device()
    let unreachable = true
    await c.context().route('**/parties/**', (route) => (unreachable ? route.abort() : route.fallback()))
    await c.routeWebSocket(/\/parties\//, (socket) => (unreachable ? socket.close() : socket.connectToServer()))
    await c.goto(withKey(link, await otherKey()))
    await expect.poll(() => status(c), PROPAGATION).toBe('offline')
    await add(c, 'Written before anyone could tell')
    await add(c, 'And <b>this</b> one')
    unreachable = false

    await expect.poll(() => problemTitle(c), PROPAGATION).toMatch(/^The key in this link does not open list todos-/)
    const said = await problem(c).innerText()
    expect(said).toContain('The 2 todos written here with this key are kept on this device:')
    expect(await c.locator('#problem-detail li').allTextContents()).toEqual(['Written before anyone could tell', 'And <b>this</b> one'])
    await screenshot(c, 'wrong-key-kept-todos')
    await c.getByRole('button', { name: 'Move them to a new list' }).click()
    await expect.poll(() => glance(c), PROPAGATION).toMatchObject({
      status: 'Synced',
      problem: '',
      titles: ['Written before anyone could tell', 'And <b>this</b> one'],
    })
    const moved = await shareLinkOf(c)
    expect(new URL(moved).searchParams.get('db')).not.toBe(room)
    // They were moved, not copied: the right link now simply works on C, and the room holds nothing of C's.
    await c.goto(link)
    await expect.poll(() => glance(c), PROPAGATION).toMatchObject({ status: 'Synced', problem: '', titles: ['Only with the right key'] })
    expect(await entries()).toBe(before)
    expect(await a.locator('#warnings').isHidden()).toBe(true)
    expect(app.pageErrors).toEqual([])
  })

  it("a stranger's entries in the room are skipped with a notice; the list syncs on", async () => {
    const name = `todos-shared${Date.now().toString(36)}`
    // The stranger joins the (then empty) room first, with its own key.
    const stranger = database(name, { storage: 'memory' })
    const strangerSync = connect.partykit(stranger, app.server.url)
    try {
      await strangerSync.ready
      const key = await otherKey()
      const a = await app.device()
      await a.goto(`${app.server.url}/?db=${name}#key=${encodeURIComponent(key)}`)
      await expect.poll(() => status(a), PROPAGATION).toBe('synced')
      await add(a, 'Ours')

      await stranger.put({ _id: 'theirs', title: 'Not for this key', done: false, created: 1 })
      await strangerSync.flush()
      await expect.poll(() => a.locator('#warnings').textContent(), PROPAGATION).toContain('1 entry sealed with another key')
      expect(await titles(a)).toEqual(['Ours'])
      await screenshot(a, 'stranger-notice')
      await add(a, 'Still syncing')
      // The badge said 'synced' before this todo too: the flush is what says it reached the server.
      await a.evaluate(() => (window as unknown as { todoApp: { sync: { flush(): Promise<unknown> } } }).todoApp.sync.flush())
      await expect.poll(() => status(a), PROPAGATION).toBe('synced')
      expect(app.pageErrors).toEqual([])
    } finally {
      await strangerSync.close()
      await stranger.close()
    }
  })
})
