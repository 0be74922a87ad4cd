import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { launchChromium } from '@proj/test-utils'
import type { Browser, BrowserContextOptions, Frame, Page } from 'playwright-core'
import { expect, inject } from 'vitest'
import { appDir, startDevServer, type DevServer } from './dev-server.js'

/** How long a change may take to show on the other device before the test fails (polling, not a timing check). */
export const PROPAGATION = { timeout: 20_000, interval: 50 }
/** Resolves to 127.0.0.1 in the test browser, but is no loopback name: http pages there are not secure. */
export const LAN_HOST = 'lan-demo.test'
export const PHONE = { width: 375, height: 740 }
export const DESKTOP = { width: 1024, height: 900 }

export interface App {
  server: DevServer
  browser: Browser
  /** A new device: its own browser context (own IndexedDB, cache and service worker). */
  device(options?: BrowserContextOptions): Promise<Page>
  /** Uncaught errors on any page so far. */
  pageErrors: string[]
  close(): Promise<void>
}

/**
 * Launches headless Chromium on the page (built by test/global-setup.ts) served by the run's shared dev server,
 * or, with `ownServer`, by a `partykit dev` of this file's own that the file may stop and start.
 */
export async function startApp({ ownServer = false } = {}): Promise<App> {
  const shared = inject('todoUrl')
  const server: DevServer = ownServer
    ? await startDevServer()
    : {
        url: shared,
        persist: '',
        start: () => Promise.reject(new Error('the shared dev server is started by test/global-setup.ts')),
        restart: () => Promise.reject(new Error('the shared dev server is started by test/global-setup.ts')),
        stop: async () => {},
      }
  // An address of this machine that is not a loopback name, as a phone would use (a LAN address): pages there
  // are not a secure context.
  const browser = await launchChromium([`--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`])
  const pageErrors: string[] = []
  return {
    server,
    browser,
    pageErrors,
    async device(options = {}) {
      const context = await browser.newContext({ viewport: { width: 720, height: 760 }, ...options })
      const page = await context.newPage()
      page.on('pageerror', (error) => pageErrors.push(error.message))
      return page
    },
    async close() {
      await browser.close().catch(() => {})
      await server.stop()
    },
  }
}

export const titles = (page: Page | Frame) => page.locator('#todos li .title').allTextContents()
export const visibleTitles = (page: Page) => page.locator('#todos li:not([hidden]) .title').allTextContents()
export const checked = (page: Page) =>
  page.locator('#todos li').evaluateAll((rows) => rows.map((row) => (row.querySelector('.toggle') as HTMLInputElement).checked))
export const status = (page: Page) => page.locator('#status').getAttribute('data-status')
export const row = (page: Page, title: string) => page.locator('#todos li', { has: page.locator('.title', { hasText: title }) })
/** What a person sees at a glance: for polls whose failure should show the whole page state. */
export const glance = async (page: Page | Frame) => ({
  status: await page.locator('#status').textContent(),
  problem: (await page.locator('#problem').isVisible()) ? await page.locator('#problem').innerText() : '',
  error: await page.locator('#error').textContent(),
  titles: await titles(page),
})
export const shareLinkOf = (page: Page) => page.inputValue('#share-link')

export async function add(page: Page, title: string): Promise<void> {
  await page.fill('#new-title', title)
  await page.press('#new-title', 'Enter')
  await expect.poll(() => titles(page)).toContain(title)
}

/** A new list on a new device, synced, with its share link. */
export async function newList(app: App, options?: BrowserContextOptions): Promise<{ page: Page; link: string }> {
  const page = await app.device(options)
  await page.goto(`${app.server.url}/`)
  await expect.poll(() => status(page), PROPAGATION).toBe('synced')
  return { page, link: await shareLinkOf(page) }
}

/** Another device opening `link`, synced. */
export async function joinList(app: App, link: string, options?: BrowserContextOptions): Promise<Page> {
  const page = await app.device(options)
  await page.goto(link)
  await expect.poll(() => status(page), PROPAGATION).toBe('synced')
  return page
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(join(appDir, 'test-results'), { recursive: true })
  await page.screenshot({ path: join(appDir, 'test-results', `${name}.png`), fullPage: true })
}
