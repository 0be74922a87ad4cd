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
})
