import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileCid, metaEntry } from '@proj/connector-tests'
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

async function startInProcess(options: { token?: string; readOnly?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'proj-serve-'))
  const server: Server = createStoreServer({ dir, ...options })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const stop = async () => {
    server.closeAllConnections()
    await new Promise((done) => server.close(done))
    await rm(dir, { recursive: true, force: true })
  }
  return { dir, url, stop }
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
    expect(res.body.toString()).toBe(`CID hash does not match bytes: ${cid}`)
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

    const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
    child = spawn(process.execPath, ['--import', 'tsx', cli, '--dir', dir, '--port', '0', '--read-only'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const lines = createInterface({ input: child.stdout! })
    url = await new Promise<string>((done, fail) => {
      child.once('exit', (code) => fail(new Error(`proj-serve exited with ${code}`)))
      lines.on('line', (line) => {
        const match = /(http:\/\/\S+?)\/? serving/.exec(line)
        if (match) done(match[1]!)
      })
    })
  })

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done))
      child.kill('SIGTERM')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  })

  it('rejects every write with 405', async () => {
    const other = text('new file')
    expect((await raw(url, 'PUT', `/todos/data/${await fileCid(other)}`, other)).status).toBe(405)
    const e = await metaEntry(text('new meta'))
    expect((await raw(url, 'PUT', `/todos/meta/main/${e.cid}`, e.bytes)).status).toBe(405)
    expect((await raw(url, 'DELETE', `/todos/data/${cid}`)).status).toBe(405)
    await expect(httpConnector(url).upload('todos', await fileCid(other), other)).rejects.toThrow('HTTP 405')
  })

  it('serves the folder to httpConnector', async () => {
    const reader = httpConnector(url)
    expect(await reader.download('todos', cid)).toEqual(bytes)
    expect(await reader.load('todos', 'main')).toEqual([entry])
    expect(await reader.download('todos', await fileCid(text('absent')))).toBeUndefined()
    expect(await reader.load('todos', 'other')).toEqual([])
  })
})
