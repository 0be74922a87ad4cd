import type { Database } from '@proj/core'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { add, newList, row, startApp, titles, type App } from './harness.js'

let app: App

beforeAll(async () => {
  app = await startApp()
})

afterAll(async () => {
  await app?.close()
})

type AppWindow = { todoApp: { db: Database } }

/**
 * Every later write of the page fails, as on a storage error or a quota exceeded: its database is closed under
 * it (the real database, through the page's own handle), so each put and get rejects with core's ClosedError.
 */
const breakWrites = (page: Page) => page.evaluate(() => (window as unknown as AppWindow).todoApp.db.close())
const closedError = (page: Page) => page.evaluate(() => `ClosedError: Database ${JSON.stringify((window as unknown as AppWindow).todoApp.db.name)} is closed`)
const error = (page: Page) => page.locator('#error').textContent()

describe('a write that fails loses nothing the user typed', () => {
  it('a new todo whose write fails: its title goes back into the empty field, with the error', async () => {
    const { page } = await newList(app)
    await add(page, 'saved before')
    await breakWrites(page)
    await page.fill('#new-title', 'Buy oat milk')
    await page.press('#new-title', 'Enter')
    await expect.poll(() => error(page)).toBe(await closedError(page))
    expect(await page.inputValue('#new-title')).toBe('Buy oat milk')
    expect(await titles(page)).toEqual(['saved before'])
  })

  it('a new todo whose write fails while the next is being typed: the field keeps the new text, the error names the lost title', async () => {
    const { page } = await newList(app)
    await breakWrites(page)
    // The submit clears the field and starts the write; the next title is typed before the write fails.
    await page.evaluate(() => {
      const input = document.querySelector<HTMLInputElement>('#new-title')!
      input.value = 'first'
      document.querySelector<HTMLFormElement>('#add')!.requestSubmit()
      input.value = 'second'
    })
    await expect.poll(() => error(page)).toBe(`Not added: “first” (${await closedError(page)})`)
    expect(await page.inputValue('#new-title')).toBe('second')
  })

  it('a title edit whose write fails: the editor opens again with what was typed, the row shows the stored title', async () => {
    const { page } = await newList(app)
    await add(page, 'Call the plumber')
    await breakWrites(page)
    await row(page, 'Call the plumber').locator('.title').dblclick()
    await page.fill('#todos li .edit', 'Call the plumber about the sink')
    await page.press('#todos li .edit', 'Enter')
    await expect.poll(() => error(page)).toBe(await closedError(page))
    await expect.poll(() => page.locator('#todos li .edit').count()).toBe(1)
    expect(await page.inputValue('#todos li .edit')).toBe('Call the plumber about the sink')
    expect(await page.locator('#todos li .title').isHidden()).toBe(true)
    // Escape gives up the edit: the row shows what is stored, not the title that was never written.
    await page.press('#todos li .edit', 'Escape')
    expect(await titles(page)).toEqual(['Call the plumber'])
  })

  it('a check or a toggle-all whose write fails: the checkbox goes back to what is stored, with the error', async () => {
    const { page } = await newList(app)
    await add(page, 'Water the plants')
    await breakWrites(page)
    // A click, not check(): check() fails when the box is already back by the time it looks.
    await row(page, 'Water the plants').locator('.toggle').click()
    await expect.poll(() => error(page)).toBe(await closedError(page))
    // Before, it stayed checked: the page showed a todo done that no device has done.
    await expect.poll(() => row(page, 'Water the plants').locator('.toggle').isChecked()).toBe(false)
    // The same for "mark all as complete".
    await page.evaluate(() => document.querySelector<HTMLElement>('#error')!.replaceChildren())
    await page.locator('#toggle-all').click()
    await expect.poll(() => error(page)).toBe(await closedError(page))
    await expect.poll(() => page.locator('#toggle-all').isChecked()).toBe(false)
    expect(await row(page, 'Water the plants').locator('.toggle').isChecked()).toBe(false)
  })
})
