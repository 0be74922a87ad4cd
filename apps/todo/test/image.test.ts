import { deflateSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { add, newList, PROPAGATION, row, screenshot, status, titles, startApp, type App } from './harness.js'

let app: App
beforeAll(async () => {
  app = await startApp()
})
afterAll(async () => {
  await app?.close()
})

/** CRC-32 of a PNG chunk's type and data (the PNG spec's polynomial). */
function crc32(bytes: Uint8Array): number {
  let crc = ~0
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1))
  }
  return ~crc >>> 0
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const out = Buffer.alloc(body.length + 8)
  out.writeUInt32BE(data.length, 0)
  body.copy(out, 4)
  out.writeUInt32BE(crc32(body), body.length + 4)
  return out
}

/** A `width` x `height` RGB PNG of a diagonal gradient in `hue` (0 red, 1 green, 2 blue). */
function png(width: number, height: number, hue: number): Buffer {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8) // 8 bits, RGB, deflate, no filter method, no interlace
  const rows = Buffer.alloc(height * (1 + width * 3))
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (1 + width * 3) + 1 + x * 3
      const shade = Math.round((255 * (x + y)) / (width + height - 2))
      rows[at] = rows[at + 1] = rows[at + 2] = 40
      rows[at + hue] = shade
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array()),
  ])
}

type Shown = { width: number; height: number; bytes: number[]; src: string } | undefined

/** The thumbnail of the row titled `title` once it has loaded: its natural size and the bytes behind its URL. */
function shownImage(page: Awaited<ReturnType<App['device']>>, title: string): Promise<Shown> {
  return row(page, title)
    .locator('.thumb')
    .evaluate(async (img: HTMLImageElement) => {
      if (img.hidden || !img.src || !img.complete || img.naturalWidth === 0) return undefined
      const bytes = [...new Uint8Array(await (await fetch(img.src)).arrayBuffer())]
      return { width: img.naturalWidth, height: img.naturalHeight, bytes, src: img.src }
    })
}

/** Whether an object URL still resolves in the page (a revoked one does not). */
const resolves = (page: Awaited<ReturnType<App['device']>>, url: string) =>
  page.evaluate((href) => fetch(href).then(() => true, () => false), url)

describe('an image per todo (headless Chromium, two devices)', () => {
  it('an image attached on A shows on B (same bytes, same size); a new image replaces it and the old URL is revoked', async () => {
    const { page: a, link } = await newList(app)
    const b = await app.device()
    await b.goto(link)
    await expect.poll(() => status(b), PROPAGATION).toBe('synced')
    await add(a, 'Repaint the door')
    await add(a, 'No picture here')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['Repaint the door', 'No picture here'])

    const red = png(24, 16, 0)
    await row(a, 'Repaint the door').locator('.image-input').setInputFiles({ name: 'door.png', mimeType: 'image/png', buffer: red })
    const expected = { width: 24, height: 16, bytes: [...red] }
    await expect.poll(async () => shownImage(b, 'Repaint the door'), PROPAGATION).toMatchObject(expected)
    await expect.poll(async () => shownImage(a, 'Repaint the door'), PROPAGATION).toMatchObject(expected)
    expect(await row(b, 'No picture here').locator('.thumb').isHidden()).toBe(true)
    await screenshot(b, 'todo-image')

    // Checking the todo keeps its image (the stored metadata is written back as it is).
    const before = (await shownImage(b, 'Repaint the door'))!.src
    await row(b, 'Repaint the door').locator('.toggle').check()
    await expect.poll(() => row(a, 'Repaint the door').locator('.toggle').isChecked(), PROPAGATION).toBe(true)
    expect(await shownImage(a, 'Repaint the door')).toMatchObject(expected)

    // A new image on B replaces it on A; B's previous object URL no longer resolves.
    const blue = png(10, 30, 2)
    await row(b, 'Repaint the door').locator('.image-input').setInputFiles({ name: 'door2.png', mimeType: 'image/png', buffer: blue })
    const replaced = { width: 10, height: 30, bytes: [...blue] }
    await expect.poll(async () => shownImage(a, 'Repaint the door'), PROPAGATION).toMatchObject(replaced)
    await expect.poll(async () => shownImage(b, 'Repaint the door'), PROPAGATION).toMatchObject(replaced)
    expect(await resolves(b, (await shownImage(b, 'Repaint the door'))!.src)).toBe(true)
    expect(await resolves(b, before)).toBe(false)
    expect(app.pageErrors).toEqual([])
    expect(await a.locator('#error').isHidden()).toBe(true)
  })
})
