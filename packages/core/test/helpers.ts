import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as digestOf } from 'multiformats/hashes/digest'
import { afterEach } from 'vitest'
import { database, type Database } from '../src/index.js'
import { memoryBackend } from './memory-backend.js'
import { loggedFilePlaces, loggedFiles } from '../src/storage/write-log.js'
import { fixtureBundle } from './node-fixture.js'

const dirs: string[] = []

/** A fresh temp directory, removed after the test. */
/** The CID (raw, sha2-256) that names `bytes` as a stored file: what Storage.writeFile expects. */
export function rawFileCid(bytes: Uint8Array): string {
  return CID.createV1(raw.code, digestOf(0x12, createHash('sha256').update(bytes).digest())).toString()
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'proj-core-'))
  dirs.push(dir)
  return dir
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A seeded generator of numbers in [0, 1) (xorshift32), so a failing random test replays. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

/** The stored files of a Node database: `files/` and the small ones in its write log and segments. */
export function dataFiles(dir: string, name: string): string[] {
  const direct = readdirSync(join(dir, name, 'files')).filter((f) => !f.startsWith('.'))
  return [...new Set([...direct, ...loggedFiles(join(dir, name)).keys()])]
}

export function readDataFile(dir: string, name: string, file: string): Buffer {
  const logged = loggedFiles(join(dir, name)).get(file)
  return logged ? Buffer.from(logged) : readFileSync(join(dir, name, 'files', file))
}

/** Overwrites a stored file's bytes in place (same length), where the storage keeps it: to damage it. */
export function overwriteDataFile(dir: string, name: string, file: string, bytes: Uint8Array): void {
  const place = loggedFilePlaces(join(dir, name)).get(file)
  if (!place) return writeFileSync(join(dir, name, 'files', file), bytes)
  if (bytes.length !== place.length) throw new Error(`overwriteDataFile: ${file} has ${place.length} bytes, not ${bytes.length}`)
  const fd = openSync(place.path, 'r+')
  try {
    writeSync(fd, bytes, 0, bytes.length, place.offset)
  } finally {
    closeSync(fd)
  }
}

/** tsx as a loader inside one node process: its CLI would fork a grandchild that outlives SIGKILL. */
export const tsxLoader = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'index.mjs')

/**
 * Runs `test/fixtures/<fixture>` (bundled from the current sources, see fixtureBundle) in a child process that
 * prints one line per acknowledged operation, and kills it with SIGKILL `afterMs` after its first line, or once
 * it has printed `afterLines` lines. Resolves with the complete lines printed before the kill (what it
 * acknowledged); rejects if it exits by itself.
 */
export async function runUntilKilled(
  fixture: string,
  args: string[],
  kill: { afterMs: number } | { afterLines: number },
): Promise<string[]> {
  const bundle = await fixtureBundle(fixture)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let killTimer: NodeJS.Timeout | undefined
    child.stdout.on('data', (chunk) => {
      out += chunk
      if ('afterLines' in kill) {
        if (out.split('\n').length > kill.afterLines) child.kill('SIGKILL')
      } else if (!killTimer) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), kill.afterMs)
      }
    })
    child.stderr.on('data', (chunk) => (err += chunk))
    // 'close', not 'exit': the lines printed just before the kill may not have been read when 'exit' comes.
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`${fixture} exited with ${code}: ${err}`))
      // Only complete lines were acknowledged before the kill.
      resolve(out.split('\n').slice(0, -1))
    })
  })
}

/**
 * Damaged copies of `bytes`: a byte changed, a bit flipped, cut short, a byte added, and with `trailing` bytes
 * appended (one 0 byte, then the given ones).
 */
export function damagedCopies(r: () => number, bytes: Uint8Array, trailing: number[]): Uint8Array[] {
  const at = Math.floor(r() * bytes.length)
  const flipped = Uint8Array.from(bytes)
  flipped[at] = Math.floor(r() * 256)
  const bit = Uint8Array.from(bytes)
  bit[at]! ^= 1 << Math.floor(r() * 8)
  const inserted = new Uint8Array(bytes.length + 1)
  inserted.set(bytes.subarray(0, at))
  inserted[at] = Math.floor(r() * 256)
  inserted.set(bytes.subarray(at), at + 1)
  return [flipped, bit, bytes.subarray(0, at), inserted, Uint8Array.of(...bytes, 0), Uint8Array.of(...bytes, ...trailing)]
}

/**
 * Writes `count` documents, `make(0)` to `make(count - 1)`, in bulks of 1 000 (a database with some volume, so a
 * compaction takes a while), and hands each written document to `written` (a model).
 */
export async function bulkLoad<D extends { _id: string }>(db: Database, count: number, make: (i: number) => D, written: (doc: D) => void = () => {}): Promise<void> {
  for (let i = 0; i < count; i += 1000) {
    const docs = Array.from({ length: Math.min(1000, count - i) }, (_, k) => make(i + k))
    await db.bulk(docs)
    docs.forEach(written)
  }
}

/**
 * A backend holding `count` documents of database `name` (one bulk, flushed by a device since closed), and the
 * key: a device opened with it and a sync to `backend()` starts lazily, reading only the files it needs.
 */
export async function seededBackend(name: string, count: number): Promise<{ backend: ReturnType<typeof memoryBackend>; key: string }> {
  const backend = memoryBackend()
  const writer = database(name, { storage: 'memory' })
  const sync = writer.connect(backend(), { pollInterval: 0 })
  await sync.ready
  await writer.bulk(Array.from({ length: count }, (_, i) => ({ _id: `d${String(i).padStart(5, '0')}`, i, text: 'x'.repeat(100) })))
  await sync.flush()
  const key = await writer.exportKey()
  await sync.close()
  await writer.close()
  return { backend, key }
}
