import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { add, checked, PROPAGATION, row, screenshot, status, titles, startApp, type App } from './harness.js'

let app: App
const device = () => app.device()

beforeAll(async () => {
  // The offline test stops and starts the server: this file has its own.
  app = await startApp({ ownServer: true })
})

afterAll(async () => {
  await app?.close()
})

describe('todo page on the PartyKit dev server (headless Chromium, two devices)', () => {
  it('opens a new database with a share link; todos added, checked, edited and deleted show on the other device', async () => {
    const a = await device()
    await a.goto(`${app.server.url}/`)
    await expect.poll(() => a.inputValue('#share-link'), PROPAGATION).toMatch(/#key=/)
    const link = await a.inputValue('#share-link')
    const parsed = new URL(link)
    expect(parsed.origin).toBe(app.server.url)
    expect(parsed.searchParams.get('db')).toMatch(/^todos-[0-9a-z]{12}$/)
    expect(parsed.hash).toMatch(/^#key=./)
    // The address bar became the share link, so a reload reopens the same list.
    expect(a.url()).toBe(link)
    await expect.poll(() => status(a), PROPAGATION).toBe('synced')

    const b = await device()
    await b.goto(link)
    await expect.poll(() => status(b), PROPAGATION).toBe('synced')
    expect(await b.inputValue('#share-link')).toBe(link)

    await add(a, 'Buy oat milk')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['Buy oat milk'])

    await add(b, 'Water the plants')
    await add(a, 'Call the plumber')
    await add(b, 'Book train tickets')
    const all = ['Buy oat milk', 'Water the plants', 'Call the plumber', 'Book train tickets']
    await expect.poll(() => titles(a), PROPAGATION).toEqual(all)
    await expect.poll(() => titles(b), PROPAGATION).toEqual(all)

    // Check on B, seen on A.
    await row(b, 'Water the plants').locator('.toggle').check()
    await expect.poll(() => checked(a), PROPAGATION).toEqual([false, true, false, false])
    await expect.poll(() => a.locator('#count').textContent(), PROPAGATION).toBe('3 items left')

    // Edit on A, seen on B.
    await row(a, 'Call the plumber').locator('.title').dblclick()
    await a.fill('#todos li .edit', 'Call the plumber about the sink')
    await a.press('#todos li .edit', 'Enter')
    await expect.poll(() => titles(b), PROPAGATION).toEqual([
      'Buy oat milk',
      'Water the plants',
      'Call the plumber about the sink',
      'Book train tickets',
    ])

    await screenshot(a, 'todo')

    // Delete on B, gone on A.
    await row(b, 'Book train tickets').hover()
    await row(b, 'Book train tickets').locator('.delete').click()
    await expect.poll(() => titles(a), PROPAGATION).toEqual(['Buy oat milk', 'Water the plants', 'Call the plumber about the sink'])

    // The server holds the meta entries only as ciphertext: no title, no key.
    const meta = await (await fetch(`${app.server.url}/parties/main/${parsed.searchParams.get('db')}/meta/main`)).text()
    expect(JSON.parse(meta).entries.length).toBeGreaterThan(0)
    for (const secret of ['Buy oat milk', 'Water the plants', 'plumber', parsed.hash.slice('#key='.length)]) {
      expect(meta).not.toContain(secret)
    }

    // A third tab of device A (same IndexedDB) opened later catches up too.
    const a2 = await a.context().newPage()
    await a2.goto(link)
    await expect.poll(() => titles(a2), PROPAGATION).toEqual(['Buy oat milk', 'Water the plants', 'Call the plumber about the sink'])
    await a2.close()

    // `/` again starts another list; the first one stays reachable from this device's list of lists.
    await a.goto(`${app.server.url}/`)
    // Not just "not the old link": the new page's field is empty until its list is open.
    await expect.poll(() => a.inputValue('#share-link'), PROPAGATION).toMatch(/#key=/)
    expect(await a.inputValue('#share-link')).not.toBe(link)
    expect(await titles(a)).toEqual([])
    expect(await a.locator('#recent-lists a').first().getAttribute('href')).toBe(link)
    await a.locator('#recent-lists a').first().click()
    await expect.poll(() => titles(a), PROPAGATION).toEqual(['Buy oat milk', 'Water the plants', 'Call the plumber about the sink'])
    expect(app.pageErrors).toEqual([])
  })

  it('keeps working offline and catches up when the server is back', async () => {
    const a = await device()
    await a.goto(`${app.server.url}/`)
    await expect.poll(() => status(a), PROPAGATION).toBe('synced')
    const link = await a.inputValue('#share-link')
    const b = await device()
    await b.goto(link)
    await expect.poll(() => status(b), PROPAGATION).toBe('synced')
    await add(a, 'Written online')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['Written online'])
    // The service worker has cached the page, so it opens without the server too.
    await a.evaluate(() => navigator.serviceWorker.ready.then(() => undefined))

    await app.server.stop(false)
    await expect.poll(() => status(a), PROPAGATION).toBe('offline')
    await add(a, 'Written offline')
    await row(a, 'Written online').locator('.toggle').check()
    // Rendered as done once the put has committed to IndexedDB.
    await expect.poll(() => row(a, 'Written online').getAttribute('class')).toBe('done')
    // The page reloads from the service worker's cache and the data from IndexedDB.
    await a.reload()
    await expect.poll(() => titles(a), PROPAGATION).toEqual(['Written online', 'Written offline'])
    expect(await checked(a)).toEqual([true, false])
    expect(await titles(b)).toEqual(['Written online'])

    await app.server.start()
    await expect.poll(() => titles(b), { ...PROPAGATION, timeout: 30_000 }).toEqual(['Written online', 'Written offline'])
    await expect.poll(() => checked(b), PROPAGATION).toEqual([true, false])
    await expect.poll(() => status(a), { ...PROPAGATION, timeout: 30_000 }).toBe('synced')
  })
})
