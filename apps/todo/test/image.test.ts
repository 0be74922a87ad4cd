import { randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { add, joinList, newList, PROPAGATION, row, screenshot, status, titles, startApp, type App } from './harness.js'

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

/** `image` with a comment chunk of `size` random bytes before its end: a valid PNG too big to travel with its entry. */
function padded(image: Buffer, size: number): Buffer {
  const end = image.length - 12 // IEND: length, type, crc
  const comment = Buffer.concat([Buffer.from('Comment\0', 'latin1'), Buffer.from(randomBytes(size / 2).toString('hex'), 'latin1')])
  return Buffer.concat([image.subarray(0, end), chunk('tEXt', comment), image.subarray(end)])
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

  it('the error line of a failed attach goes once an attach goes through', async () => {
    const { page: a } = await newList(app)
    await add(a, 'Frame the poster')
    await row(a, 'Frame the poster').locator('.image-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hi') })
    await expect.poll(() => a.locator('#error').textContent(), PROPAGATION).toBe('TypeError: "notes.txt" is not an image (its type is "text/plain")')
    expect(await a.locator('#error').isVisible()).toBe(true)
    // The problem is over once an image is attached: the line said it for good before.
    const poster = png(8, 8, 1)
    await row(a, 'Frame the poster').locator('.image-input').setInputFiles({ name: 'poster.png', mimeType: 'image/png', buffer: poster })
    await expect.poll(async () => shownImage(a, 'Frame the poster'), PROPAGATION).toMatchObject({ width: 8, height: 8 })
    await expect.poll(() => a.locator('#error').isHidden(), PROPAGATION).toBe(true)
    expect(app.pageErrors).toEqual([])
  })

  it('an image whose download fails for a while shows once it can be read, with no error left on the page', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    await add(a, 'Fix the fence')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['Fix the fence'])

    // From now on the server answers B's downloads with 503 (busy: transient), until the test lets them through.
    let refused = 0
    let busy = true
    await b.context().route('**/parties/main/*/data/*', (route) => {
      if (!busy || route.request().method() !== 'GET') return route.fallback()
      refused++
      return route.fulfill({ status: 503, body: 'busy' })
    })
    // Bigger than what the server pushes along with an entry, so B downloads it by itself.
    const green = padded(png(20, 20, 1), 40_000)
    await row(a, 'Fix the fence').locator('.image-input').setInputFiles({ name: 'fence.png', mimeType: 'image/png', buffer: green })
    await expect.poll(async () => shownImage(a, 'Fix the fence'), PROPAGATION).toMatchObject({ width: 20, height: 20 })
    // B's read of the image has failed (it said so somewhere on the page) before the server lets it through.
    const told = async () => [await b.locator('#error').textContent(), await row(b, 'Fix the fence').locator('.thumb').getAttribute('title')]
    await expect.poll(async () => (await told()).some(Boolean), PROPAGATION).toBe(true)
    expect(refused).toBeGreaterThan(0)
    // Waiting for it is shown in the row, not as an error.
    expect(await told()).toEqual(['', expect.stringMatching(/^Image not downloaded yet .*503.*: retrying$/)])

    busy = false
    await expect.poll(async () => shownImage(b, 'Fix the fence'), PROPAGATION).toMatchObject({ width: 20, height: 20, bytes: [...green] })
    expect(await b.locator('#error').isHidden()).toBe(true)
    expect(await row(b, 'Fix the fence').locator('.thumb').getAttribute('title')).toBeNull()
    expect(app.pageErrors).toEqual([])
  })

  it('an image that arrives damaged is an error until it is read whole, then the error goes', async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    await add(a, 'Hang the mirror')
    await expect.poll(() => titles(b), PROPAGATION).toEqual(['Hang the mirror'])

    // B's downloads arrive with a byte flipped (a failure retrying the same bytes cannot fix), until the test stops it.
    let damaging = true
    await b.context().route('**/parties/main/*/data/*', async (route) => {
      if (!damaging || route.request().method() !== 'GET') return route.fallback()
      const response = await route.fetch()
      const body = await response.body()
      const middle = body.length >> 1
      body[middle] = body[middle]! ^ 0xff
      return route.fulfill({ response, body })
    })
    const mirror = padded(png(12, 12, 2), 40_000)
    await row(a, 'Hang the mirror').locator('.image-input').setInputFiles({ name: 'mirror.png', mimeType: 'image/png', buffer: mirror })
    await expect.poll(() => b.locator('#error').isVisible(), PROPAGATION).toBe(true)

    // Read whole at the next render (a change to the list); the error said so for good before.
    damaging = false
    await add(a, 'Another change')
    await expect.poll(async () => shownImage(b, 'Hang the mirror'), PROPAGATION).toMatchObject({ width: 12, height: 12, bytes: [...mirror] })
    await expect.poll(() => b.locator('#error').isHidden(), PROPAGATION).toBe(true)
    expect(app.pageErrors).toEqual([])
  })

  it("an image that holds a script runs none in this page's origin, not even opened in a tab of its own", async () => {
    const { page: a, link } = await newList(app)
    const b = await joinList(app, link)
    // What a script would be after: the lists of this device, share links with their keys.
    const steal = "localStorage.setItem('stolen', String(localStorage.getItem('proj-todo:lists')))"
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20" fill="red"/><script>${steal}</script></svg>`
    const page = `<html><body><script>${steal}</script></body></html>`
    await add(a, 'An SVG')
    await add(a, 'A page posing as an image')
    await row(a, 'An SVG').locator('.image-input').setInputFiles({ name: 'x.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(svg) })
    await row(a, 'A page posing as an image')
      .locator('.image-input')
      .setInputFiles({ name: 'x.html', mimeType: 'image/x-page', buffer: Buffer.from(page) })
    // The SVG still shows as a picture.
    await expect.poll(async () => shownImage(b, 'An SVG'), PROPAGATION).toMatchObject({ width: 20, height: 20, bytes: [...Buffer.from(svg)] })
    await expect.poll(() => row(b, 'A page posing as an image').locator('.thumb').getAttribute('src'), PROPAGATION).toBeTruthy()
    for (const title of ['An SVG', 'A page posing as an image']) {
      const src = (await row(b, title).locator('.thumb').getAttribute('src'))!
      // "Open image in new tab".
      const tab = await b.context().newPage()
      await tab.goto(src).catch(() => {}) // a download, or a page that cannot be shown: either is fine
      await tab.close()
    }
    expect(await b.evaluate(() => localStorage.getItem('stolen'))).toBeNull()
    expect(app.pageErrors).toEqual([])
  })
})
