// Memory while a 100 MB attachment is stored from a file-backed Blob and streamed back, measured in a child
// process of its own (nothing else of the test runner in its heap). Memory, not time: nothing here is timed.
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { CHUNK_SIZE } from '../src/attachments/write.js'
import { tempDir, tsxLoader } from './helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
const CHUNKS = 100
const MiB = 1 << 20

interface Phase {
  base: { rss: number; arrayBuffers: number }
  peak: { rss: number; arrayBuffers: number; samples: number }
}
interface Report {
  write: Phase
  read: Phase
  size: number
  chunks: number
  sha256: string
}

/** A temp file of CHUNKS MiB of random bytes, written a MiB at a time; its path and SHA-256. */
function bigFile(dir: string): { path: string; sha256: string } {
  const path = join(dir, 'big.bin')
  const hash = createHash('sha256')
  const fd = openSync(path, 'w')
  for (let i = 0; i < CHUNKS; i++) {
    const bytes = randomBytes(MiB)
    hash.update(bytes)
    writeSync(fd, bytes)
  }
  closeSync(fd)
  return { path, sha256: hash.digest('hex') }
}

function measure(dir: string, path: string, mode: 'gc' | 'nogc'): Promise<Report> {
  const args = ['--expose-gc', '--conditions', 'source', '--import', tsxLoader, join(here, 'fixtures', 'attachment-memory.ts'), dir, path, mode]
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { maxBuffer: MiB }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as Report),
    ),
  )
}

const inMiB = (bytes: number) => `${(bytes / MiB).toFixed(2)} MiB`
const summary = (report: Report) =>
  `write +${inMiB(report.write.peak.rss)} rss, +${inMiB(report.write.peak.arrayBuffers)} arrayBuffers; ` +
  `read +${inMiB(report.read.peak.rss)} rss, +${inMiB(report.read.peak.arrayBuffers)} arrayBuffers`

describe('attachment memory', () => {
  it(`stores a ${CHUNKS} MB file from fs.openAsBlob and streams it back holding a few chunks, never the file`, async () => {
    const dir = tempDir()
    const { path, sha256 } = bigFile(dir)

    // With a full collection before every sample: what the code keeps alive, chunk after chunk.
    const live = await measure(join(dir, 'gc'), path, 'gc')
    process.stderr.write(`[attachments-memory] live: ${summary(live)}\n`)
    expect(live).toMatchObject({ size: CHUNKS * MiB, chunks: CHUNKS, sha256 })
    expect(live.write.peak.samples).toBe(CHUNKS + 1)
    expect(live.read.peak.samples).toBe(CHUNKS)
    // What the code keeps alive (ArrayBuffers after a full collection; the same to the KiB on every run):
    // streaming, the chunk handed out and the next one being read (its sealed file, its plain bytes, the
    // chunk cut from them), pulled ahead by the stream's queue of one: 4.0 chunks measured.
    expect(live.read.peak.arrayBuffers, summary(live)).toBeLessThan(5 * CHUNK_SIZE)
    // Storing: one chunk at a time read off the blob, encoded, sealed and written, none kept after it is
    // written: 2 chunks alive between writes, 7.0 while one is in flight, whatever the file's size.
    expect(live.write.peak.arrayBuffers, summary(live)).toBeLessThan(8 * CHUNK_SIZE)
    // RSS adds the heap's and the allocator's slack to those buffers and varies from run to run (measured over
    // 10 runs: streaming 0.1 to 5.0 MiB, storing 4.8 to 14.6 MiB): bounded, far from the file's 100 MiB.
    expect(live.read.peak.rss, summary(live)).toBeLessThan(32 * CHUNK_SIZE)
    expect(live.write.peak.rss, summary(live)).toBeLessThan(32 * CHUNK_SIZE)

    // As a program runs (no forced collection): the garbage of the chunks already done waits for the
    // collector, so the figures are higher, but the file is never whole in memory.
    const running = await measure(join(dir, 'nogc'), path, 'nogc')
    process.stderr.write(`[attachments-memory] without forced gc: ${summary(running)}\n`)
    expect(running).toMatchObject({ size: CHUNKS * MiB, chunks: CHUNKS, sha256 })
    for (const phase of [running.write, running.read]) {
      expect(phase.peak.rss, summary(running)).toBeLessThan(CHUNKS * MiB * 0.64)
    }
  }, 300_000)
})
