import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileCid, metaEntry } from '@proj/connector-tests'
import { serveFromTempDir } from '@proj/test-utils'
import { dirConnector } from '../src/dir.js'
import { httpConnector } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

const text = (s: string) => new TextEncoder().encode(s)

/** A raw HTTP request (fetch would normalize '..' away before sending). */
function raw(
  base: string,
  method: string,
  path: string,
  body?: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(base)
  return new Promise((done, fail) => {
    const req = request({ hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', fail)
    req.end(body)
  })
}

/**
 * Sends `head` (request line, headers, maybe part of a body) on a raw socket, then one more body byte every
 * 20 ms (when `trickle`) until the server answers and closes, or `maxTicks` ticks pass without that.
 */
function slowClient(
  url: string,
  head: string,
  { trickle = false, maxTicks = 500 } = {},
): Promise<{ answer: string; closedByServer: boolean }> {
  const { hostname, port } = new URL(url)
  return new Promise((done) => {
    const socket = connect(Number(port), hostname)
    let answer = ''
    let ticks = 0
    const timer = setInterval(() => {
      if (++ticks > maxTicks) {
        clearInterval(timer)
        socket.destroy()
        done({ answer, closedByServer: false })
      } else if (trickle && !socket.destroyed) socket.write('x')
    }, 20)
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearInterval(timer)
      done({ answer, closedByServer: ticks <= maxTicks })
    })
    socket.write(head)
  })
}

const statusLine = (answer: string) => answer.split('\r\n')[0]

async function startInProcess(options: Omit<Parameters<typeof createStoreServer>[0], 'dir'> = {}) {
  return serveFromTempDir('proj-serve', (dir) => createStoreServer({ dir, ...options }))
}

describe('proj-serve with a token', () => {
  let s: Awaited<ReturnType<typeof startInProcess>>
  const token = 't0ken'
  const auth = { authorization: `Bearer ${token}` }
  beforeAll(async () => {
    s = await startInProcess({ token })
  })
  afterAll(() => s.stop())

  it('rejects bytes that do not hash to the CID with 400 and stores nothing', async () => {
    const cid = await fileCid(text('the real bytes'))
    const res = await raw(s.url, 'PUT', `/todos/data/${cid}`, text('other bytes'), auth)
    expect(res.status).toBe(400)
    expect(res.body.toString()).toBe(`Integrity check failed for ${cid}: file bytes hash to ${await fileCid(text('other bytes'))}`)
    expect((await raw(s.url, 'GET', `/todos/data/${cid}`)).status).toBe(404)
    expect(await readdir(s.dir)).not.toContain('todos')
  })

  it('rejects an invalid CID with 400', async () => {
    expect((await raw(s.url, 'PUT', '/todos/data/not-a-cid', text('x'), auth)).status).toBe(400)
    expect((await raw(s.url, 'GET', '/todos/data/not-a-cid')).status).toBe(400)
    // a valid CID of another kind (CIDv0) is not a file name
    const v0 = 'QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n'
    expect((await raw(s.url, 'PUT', `/todos/data/${v0}`, text('x'), auth)).status).toBe(400)
  })

  it('needs the token for meta and file writes (401), reads stay open', async () => {
    const entry = await metaEntry(text('meta'))
    expect((await raw(s.url, 'PUT', `/todos/meta/main/${entry.cid}`, entry.bytes)).status).toBe(401)
    expect(
      (await raw(s.url, 'PUT', `/todos/meta/main/${entry.cid}`, entry.bytes, { authorization: 'Bearer wrong' })).status,
    ).toBe(401)
    await expect(httpConnector(s.url).save('todos', 'main', entry, [])).rejects.toThrow('HTTP 401')
    const bytes = text('file')
    const cid = await fileCid(bytes)
    expect((await raw(s.url, 'PUT', `/todos/data/${cid}`, bytes)).status).toBe(401)
    expect(await httpConnector(s.url).load('todos', 'main')).toEqual([])

    const writer = httpConnector(s.url, { token })
    await writer.save('todos', 'main', entry, [])
    await writer.upload('todos', cid, bytes)
    const reader = httpConnector(s.url)
    expect(await reader.load('todos', 'main')).toEqual([entry])
    expect(await reader.download('todos', cid)).toEqual(bytes)
  })

  it('verifies the hash of meta entries and the replaced CIDs', async () => {
    const entry = await metaEntry(text('entry'))
    expect((await raw(s.url, 'PUT', `/todos/meta/main/${entry.cid}`, text('not it'), auth)).status).toBe(400)
    expect(
      (await raw(s.url, 'PUT', `/todos/meta/main/${entry.cid}?replaces=../../x`, entry.bytes, auth)).status,
    ).toBe(400)
    expect(await httpConnector(s.url).load('todos', 'main')).not.toContainEqual(entry)
  })

  it('rejects path traversal and bad names with 400', async () => {
    const cid = await fileCid(text('x'))
    for (const path of [
      '/../etc/passwd',
      '/%2e%2e/etc/passwd',
      '/todos/data/..%2f..%2fsecret',
      `/todos/../../data/${cid}`,
      `/todos/data/%2e%2e`,
      `/.tmp/data/${cid}`,
      `/todos/meta/..%2fmain.json`,
      `/todos/meta/a.b.json`,
      `/todos/meta/../main.json`,
      `/a%5cb/data/${cid}`,
    ]) {
      expect((await raw(s.url, 'GET', path)).status, path).toBe(400)
      expect((await raw(s.url, 'PUT', path, text('x'), auth)).status, path).toBe(400)
    }
  })

  it('answers CORS preflights and sets CORS headers', async () => {
    const preflight = await raw(s.url, 'OPTIONS', '/todos/meta/main.json', undefined, {
      origin: 'http://example.test',
      'access-control-request-method': 'PUT',
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('*')
    expect(String(preflight.headers['access-control-allow-methods'])).toContain('PUT')
    expect(String(preflight.headers['access-control-allow-headers'])).toContain('authorization')
    const missing = await raw(s.url, 'GET', '/todos/meta/nothing.json')
    expect(missing.status).toBe(404)
    expect(missing.headers['access-control-allow-origin']).toBe('*')
  })
})

describe('proj-serve reads while saves replace the listing', () => {
  it('serves every listing read whole: never a mix of the listing before a save and the one after', async () => {
    const s = await startInProcess()
    try {
      const client = httpConnector(s.url)
      // Each save replaces the previous entry with a longer one, so every listing differs in size from the last.
      let previous = await metaEntry(text('entry 0'))
      await client.save('todos', 'main', previous, [])
      let saving = true
      const failures: string[] = []
      let reads = 0
      const read = async () => {
        while (saving) {
          reads++
          try {
            const entries = await client.load('todos', 'main')
            if (entries.length !== 1) failures.push(`${entries.length} entries`)
          } catch (error) {
            failures.push((error as Error).message)
          }
        }
      }
      const readers = [read(), read()]
      for (let i = 1; i <= 60; i++) {
        const entry = await metaEntry(text(`entry ${i} ${'x'.repeat(i * 5)}`))
        await client.save('todos', 'main', entry, [previous.cid])
        previous = entry
      }
      saving = false
      await Promise.all(readers)
      expect(reads).toBeGreaterThan(60)
      expect(failures).toEqual([])
    } finally {
      await s.stop()
    }
  })
})

describe('proj-serve limits', () => {
  let s: Awaited<ReturnType<typeof startInProcess>>
  const token = 't0ken'
  const maxBytes = 1000
  let cid: string
  beforeAll(async () => {
    // Short limits so that the test sees them at work without waiting for the 30 s defaults.
    s = await startInProcess({ token, maxBytes, requestTimeout: 300 })
    cid = await fileCid(text('x'))
  })
  afterAll(() => s.stop())

  it('cuts off a body that trickles in slower than requestTimeout with 408, and stores nothing', async () => {
    const head = `PUT /todos/data/${cid} HTTP/1.1\r\nHost: store\r\nAuthorization: Bearer ${token}\r\nContent-Length: 900\r\n\r\n`
    // 500 ticks of one byte each stay below the declared 900: only the server can end this request.
    const { answer, closedByServer } = await slowClient(s.url, head, { trickle: true })
    expect(closedByServer).toBe(true)
    expect(statusLine(answer)).toBe('HTTP/1.1 408 Request Timeout')
    expect((await raw(s.url, 'GET', `/todos/data/${cid}`)).status).toBe(404)
  })

  it('cuts off request headers that never end with 408', async () => {
    const { answer, closedByServer } = await slowClient(s.url, `PUT /todos/data/${cid} HTTP/1.1\r\nHost: store\r\n`)
    expect(closedByServer).toBe(true)
    expect(statusLine(answer)).toBe('HTTP/1.1 408 Request Timeout')
  })

  it('refuses a Content-Length over maxBytes with 413 before reading the body', async () => {
    const oversized = await raw(s.url, 'PUT', `/todos/data/${cid}`, new Uint8Array(maxBytes + 1), { authorization: `Bearer ${token}` })
    expect(oversized.status).toBe(413)
    expect(oversized.body.toString()).toBe(`Body of ${maxBytes + 1} bytes is over the limit of ${maxBytes} bytes`)
    // A huge declared body is refused on its headers alone, and the connection closed rather than drained.
    const head = `PUT /todos/data/${cid} HTTP/1.1\r\nHost: store\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100000000000\r\n\r\nabc`
    const { answer, closedByServer } = await slowClient(s.url, head)
    expect(closedByServer).toBe(true)
    expect(statusLine(answer)).toBe('HTTP/1.1 413 Payload Too Large')
    expect(answer).toContain(`Body of 100000000000 bytes is over the limit of ${maxBytes} bytes`)
    expect((await raw(s.url, 'GET', `/todos/data/${cid}`)).status).toBe(404)
  })

  it('answers a client that sends Expect: 100-continue before it sends the body', async () => {
    const ask = (length: number, auth = `Bearer ${token}`) =>
      slowClient(
        s.url,
        `PUT /todos/data/${cid} HTTP/1.1\r\nHost: store\r\nAuthorization: ${auth}\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`,
        { maxTicks: 10 },
      )
    const huge = await ask(100_000_000_000)
    expect(statusLine(huge.answer)).toBe('HTTP/1.1 413 Payload Too Large')
    expect(huge.answer).not.toContain('100 Continue')
    const unauthorized = await ask(1, 'Bearer wrong')
    expect(statusLine(unauthorized.answer)).toBe('HTTP/1.1 401 Unauthorized')
    expect(unauthorized.answer).not.toContain('100 Continue')
    // Within the limits the server asks for the body (and the request then times out here, never sent).
    expect(statusLine((await ask(1)).answer)).toBe('HTTP/1.1 100 Continue')
  })

  it('answers a missing or wrong token with 401 and a WWW-Authenticate challenge', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const res = await raw(s.url, 'PUT', `/todos/data/${cid}`, text('x'), headers)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Bearer')
      expect(res.body.toString()).toBe('Missing or wrong token')
    }
  })

  it('refuses options that are not positive numbers, naming them', () => {
    expect(() => createStoreServer({ dir: s.dir, maxBytes: -1 })).toThrow(
      new TypeError('createStoreServer option maxBytes must be a positive number, got -1'),
    )
    expect(() => createStoreServer({ dir: s.dir, requestTimeout: 0 })).toThrow(
      new TypeError('createStoreServer option requestTimeout must be a positive number, got 0'),
    )
    expect(() => createStoreServer({ dir: s.dir, requestTimeout: 100, headersTimeout: 200 })).toThrow(
      new TypeError('createStoreServer option headersTimeout (200) must not exceed requestTimeout (100)'),
    )
  })
})

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

/** Runs the proj-serve bin; resolves its URL once it listens (rejects with its exit code if it exits first). */
async function startBin(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const lines = createInterface({ input: child.stdout! })
  const url = await new Promise<string>((done, fail) => {
    // 'close', not 'exit': the message that the tests compare may not have been read from stderr when 'exit' comes.
    child.once('close', (code) => fail(Object.assign(new Error(`proj-serve exited with ${code}: ${stderr}`), { code, stderr })))
    lines.on('line', (line) => {
      const match = /(http:\/\/\S+?)\/? serving/.exec(line)
      if (match) done(match[1]!)
    })
  })
  return { child, url }
}

async function stopBin(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return
  const exited = new Promise((done) => child.once('exit', done))
  child.kill('SIGTERM')
  await exited
}

describe('proj-serve --max-bytes --request-timeout (the bin)', () => {
  it('applies the limits given on the command line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proj-serve-bin-'))
    const { child, url } = await startBin(['--dir', dir, '--port', '0', '--token', 't', '--max-bytes', '16', '--request-timeout', '300'])
    try {
      const cid = await fileCid(text('x'))
      const oversized = await raw(url, 'PUT', `/todos/data/${cid}`, new Uint8Array(17), { authorization: 'Bearer t' })
      expect(oversized.status).toBe(413)
      expect(oversized.body.toString()).toBe('Body of 17 bytes is over the limit of 16 bytes')
      const head = `PUT /todos/data/${cid} HTTP/1.1\r\nHost: store\r\nAuthorization: Bearer t\r\nContent-Length: 16\r\n\r\n`
      // The 16 declared bytes never come: only the bin's request timeout can end this request.
      const slow = await slowClient(url, head)
      expect(slow.closedByServer).toBe(true)
      expect(statusLine(slow.answer)).toBe('HTTP/1.1 408 Request Timeout')
    } finally {
      await stopBin(child)
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('exits with 2 and names a flag that is not a positive integer', async () => {
    const failure = await startBin(['--dir', tmpdir(), '--port', '0', '--max-bytes', 'lots']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    )
    expect(failure?.code).toBe(2)
    expect(failure?.stderr).toContain('proj-serve: --max-bytes must be a positive integer, got "lots"')
  })
})

describe('proj-serve --read-only (the bin)', () => {
  let dir: string
  let child: ChildProcess
  let url: string
  const bytes = text('exported file')
  let cid: string
  let entry: Awaited<ReturnType<typeof metaEntry>>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proj-export-'))
    cid = await fileCid(bytes)
    entry = await metaEntry(text('exported meta'))
    const writer = dirConnector(dir)
    await writer.upload('todos', cid, bytes)
    await writer.save('todos', 'main', entry, [])

    ;({ child, url } = await startBin(['--dir', dir, '--port', '0', '--read-only']))
  })

  afterAll(async () => {
    await stopBin(child)
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses every write with 403 (read-only), and other methods with 405', async () => {
    const other = text('new file')
    const refused = await raw(url, 'PUT', `/todos/data/${await fileCid(other)}`, other)
    expect(refused.status).toBe(403)
    expect(refused.body.toString()).toBe('This store is read-only')
    const e = await metaEntry(text('new meta'))
    expect((await raw(url, 'PUT', `/todos/meta/main/${e.cid}`, e.bytes)).status).toBe(403)
    expect((await raw(url, 'DELETE', `/todos/data/${cid}`)).status).toBe(405)
    await expect(httpConnector(url).upload('todos', await fileCid(other), other)).rejects.toThrow('HTTP 403')
  })

  it('serves the folder to httpConnector', async () => {
    const reader = httpConnector(url)
    expect(await reader.download('todos', cid)).toEqual(bytes)
    expect(await reader.load('todos', 'main')).toEqual([entry])
    expect(await reader.download('todos', await fileCid(text('absent')))).toBeUndefined()
    expect(await reader.load('todos', 'other')).toEqual([])
  })
})
