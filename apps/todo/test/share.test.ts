import type { Page } from 'playwright-core'
import decodeQR from 'qr/decode.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  add,
  checked,
  DESKTOP,
  glance,
  LAN_HOST,
  newList,
  PHONE,
  PROPAGATION,
  row,
  screenshot,
  shareLinkOf,
  startApp,
  status,
  titles,
  visibleTitles,
  type App,
} from './harness.js'

let app: App

beforeAll(async () => {
  app = await startApp()
})

afterAll(async () => {
  await app?.close()
})

/** The QR code as the page draws it, rasterized in the page and read back by an independent decoder. */
async function qrText(page: Page): Promise<string> {
  const image = await page.evaluate(async () => {
    const size = 240
    const svg = document.querySelector('#share-qr svg')!.cloneNode(true) as SVGSVGElement
    svg.setAttribute('width', String(size))
    svg.setAttribute('height', String(size))
    const img = new Image()
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`
    await img.decode()
    const canvas = document.createElement('canvas')
    canvas.width = canvas.height = size
    const context = canvas.getContext('2d')!
    context.fillStyle = '#fff'
    context.fillRect(0, 0, size, size)
    context.drawImage(img, 0, 0, size, size)
    // RGBA bytes as base64: far smaller to hand out of the page than an array of numbers.
    const bytes = context.getImageData(0, 0, size, size).data
    let binary = ''
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
    return { size, rgba: btoa(binary) }
  })
  return decodeQR({ width: image.size, height: image.size, data: new Uint8Array(Buffer.from(image.rgba, 'base64')) })
}

/** Whether the whole share link is on screen: nothing scrolled away inside its box, the box inside the viewport. */
const shareLinkFits = (page: Page) =>
  page.locator('#share-link').evaluate((field: HTMLTextAreaElement) => {
    const box = field.getBoundingClientRect()
    return {
      clippedWidth: field.scrollWidth - field.clientWidth,
      clippedHeight: field.scrollHeight - field.clientHeight,
      insideViewport: box.left >= 0 && box.right <= document.documentElement.clientWidth,
      pageScrollsSideways: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    }
  })

/** What a `copy` command put on the clipboard: the text selected in the focused field when it ran. */
async function recordCopies(page: Page): Promise<void> {
  await page.evaluate(() => {
    const copies: string[] = []
    Object.assign(window, { copies })
    document.addEventListener('copy', () => {
      const field = document.activeElement as HTMLTextAreaElement
      copies.push(field.value.slice(field.selectionStart, field.selectionEnd))
    })
  })
}

describe('sharing a list, on a phone and on a desktop', () => {
  it('shows the whole share link at 375 px, copies it, and its QR code opens the same link', async () => {
    const { page: phone, link } = await newList(app, { viewport: PHONE, permissions: ['clipboard-read', 'clipboard-write'] })
    expect(await shareLinkFits(phone)).toEqual({ clippedWidth: 0, clippedHeight: 0, insideViewport: true, pageScrollsSideways: false })
    expect(await qrText(phone)).toBe(link)

    await phone.getByRole('button', { name: 'Copy link' }).click()
    await expect.poll(() => phone.locator('#copy').textContent()).toBe('Copied')
    expect(await phone.evaluate(() => navigator.clipboard.readText())).toBe(link)
    await add(phone, 'Scan me on another phone')
    await screenshot(phone, 'share-phone')

    // Browsers refuse the Clipboard API in several real situations (a document without focus, an embedding
    // iframe without clipboard-write, stricter browsers' policies): refused here as Chromium refuses it, so the
    // page's fallback runs, and the link is copied from the selected field instead.
    const refused = await app.device({ viewport: PHONE })
    await refused.context().addInitScript(() => {
      Clipboard.prototype.writeText = () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError'))
    })
    await refused.goto(link)
    await expect.poll(() => status(refused), PROPAGATION).toBe('synced')
    await recordCopies(refused)
    await refused.getByRole('button', { name: 'Copy link' }).click()
    await expect.poll(() => refused.locator('#copy').textContent()).toBe('Copied')
    expect(await refused.evaluate(() => (window as unknown as { copies: string[] }).copies)).toEqual([link])

    expect(app.pageErrors).toEqual([])
  })

  it("toggle-all and the All / Active / Completed filters, as TodoMVC's", async () => {
    const { page: desktop, link } = await newList(app, { viewport: DESKTOP })
    const phone = await app.device({ viewport: PHONE })
    await phone.goto(link)
    await expect.poll(() => status(phone), PROPAGATION).toBe('synced')
    expect(await shareLinkFits(desktop)).toEqual({ clippedWidth: 0, clippedHeight: 0, insideViewport: true, pageScrollsSideways: false })
    expect(await qrText(desktop)).toBe(link)
    for (const title of ['Pack the tent', 'Buy batteries', 'Charge the lamp']) await add(desktop, title)
    await expect.poll(() => titles(phone), PROPAGATION).toHaveLength(3)

    // Toggle-all on the phone: everything done on the desktop; again: everything active.
    await phone.getByRole('checkbox', { name: 'Mark all as complete' }).check()
    await expect.poll(() => checked(desktop), PROPAGATION).toEqual([true, true, true])
    expect(await desktop.locator('#count').textContent()).toBe('0 items left')
    expect(await desktop.getByRole('checkbox', { name: 'Mark all as complete' }).isChecked()).toBe(true)
    await phone.getByRole('checkbox', { name: 'Mark all as complete' }).uncheck()
    await expect.poll(() => checked(desktop), PROPAGATION).toEqual([false, false, false])

    await row(desktop, 'Buy batteries').locator('.toggle').check()
    await expect.poll(() => checked(phone), PROPAGATION).toEqual([false, true, false])
    await phone.getByRole('button', { name: 'Active', exact: true }).click()
    await expect.poll(() => visibleTitles(phone)).toEqual(['Pack the tent', 'Charge the lamp'])
    expect(await phone.getByRole('button', { name: 'Active', exact: true }).getAttribute('aria-pressed')).toBe('true')
    await screenshot(phone, 'filters-phone')
    await phone.getByRole('button', { name: 'Completed', exact: true }).click()
    await expect.poll(() => visibleTitles(phone)).toEqual(['Buy batteries'])
    // A filter only changes what this page shows: a todo added elsewhere shows where it belongs.
    await add(desktop, 'Fold the map')
    await expect.poll(() => titles(phone), PROPAGATION).toHaveLength(4)
    expect(await visibleTitles(phone)).toEqual(['Buy batteries'])
    await phone.getByRole('button', { name: 'All', exact: true }).click()
    await expect.poll(() => visibleTitles(phone)).toEqual(['Pack the tent', 'Buy batteries', 'Charge the lamp', 'Fold the map'])
    await screenshot(desktop, 'filters-desktop')

    await phone.getByRole('button', { name: 'Clear completed' }).click()
    await expect.poll(() => titles(desktop), PROPAGATION).toEqual(['Pack the tent', 'Charge the lamp', 'Fold the map'])
    expect(app.pageErrors).toEqual([])
  })

  it('an http address that is not this computer (a phone on the LAN) says it needs https, with a way there', async () => {
    const phone = await app.device({ viewport: PHONE })
    const lan = new URL(app.server.url)
    lan.hostname = LAN_HOST
    await phone.goto(lan.href)
    await expect.poll(() => glance(phone), PROPAGATION).toMatchObject({
      status: 'Not secure',
      problem: expect.stringContaining('This address cannot keep the list encrypted'),
    })
    await screenshot(phone, 'insecure-phone')
    await phone.getByRole('link', { name: 'Open it on this computer (127.0.0.1)' }).click()
    await expect.poll(() => status(phone), PROPAGATION).toBe('synced')
    expect(new URL(await shareLinkOf(phone)).origin).toBe(app.server.url)
  })
})
