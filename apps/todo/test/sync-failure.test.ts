import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { add, glance, joinList, newList, PROPAGATION, status, titles, startApp, type App } from './harness.js'

let app: App

beforeAll(async () => {
  app = await startApp()
})

afterAll(async () => {
  await app?.close()
})

const PARTY = '**/parties/**'
const isWrite = (method: string) => method !== 'GET' && method !== 'HEAD'

describe('what the page shows when sync fails', () => {
  it('a server that refuses writes (403) shows Sync error at once, keeps the todos here, and Try again sends them once it accepts', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    await add(a, 'before')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['before'])

    let refusing = true
    await a.context().route(PARTY, (route) =>
      refusing && isWrite(route.request().method()) ? route.fulfill({ status: 403, body: 'writes refused' }) : route.fallback(),
    )
    // Over HTTP: the websocket carries small files, so make one too big for it (an image-less todo fits).
    await a.evaluate(() => {
      const { db } = (window as unknown as { todoApp: { db: { put(doc: object): Promise<unknown> } } }).todoApp
      return db.put({ title: 'refused', done: false, created: Date.now(), note: 'x'.repeat(40_000) }).then(() => undefined)
    })
    await expect.poll(() => status(a), PROPAGATION).toBe('error')
    expect(await a.locator('#status').textContent()).toBe('Sync error')
    expect(await a.locator('#sync-error').isVisible()).toBe(true)
    expect(await a.locator('#sync-error-text').textContent()).toMatch(/^Sync stopped: .*\(403\): writes refused\. Changes made here are kept on this device\.$/)
    expect(await titles(a)).toEqual(['before', 'refused'])

    refusing = false
    await a.getByRole('button', { name: 'Try again' }).click()
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['before', 'refused'])
    await expect.poll(() => status(a), PROPAGATION).toBe('synced')
    expect(await a.locator('#sync-error').isHidden()).toBe(true)
    expect(app.pageErrors).toEqual([])
  })

  it('the badge says Offline as the browser loses the network, not only when sync next polls, and Synced once it is back', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    await add(a, 'before')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['before'])
    // What the badge says when the page learns it is offline: a listener added after the page's own runs after it.
    // (The websocket of a dropped network stays open until the transport times out; sync found out at its next
    // slow poll, ~10 s later, and the badge said Synced meanwhile.)
    await a.evaluate(() => {
      const seen = window as unknown as { badgeWhenOffline?: string }
      window.addEventListener('offline', () => (seen.badgeWhenOffline = document.getElementById('status')!.dataset.status), { once: true })
    })
    await a.context().setOffline(true)
    const badgeWhenOffline = () => a.evaluate(() => (window as unknown as { badgeWhenOffline?: string }).badgeWhenOffline)
    await expect.poll(badgeWhenOffline, PROPAGATION).toBeDefined()
    expect(await badgeWhenOffline()).toBe('offline')
    expect(await a.locator('#status').textContent()).toBe('Offline · saved on this device')
    await add(a, 'written offline')
    expect(await status(a)).toBe('offline')

    await a.context().setOffline(false)
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['before', 'written offline'])
    await expect.poll(() => status(a), PROPAGATION).toBe('synced')
    expect(await a.locator('#error').isHidden()).toBe(true)
    expect(app.pageErrors).toEqual([])
  })
})
