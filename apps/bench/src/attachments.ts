/**
 * W10: attachment throughput, in a child process of its own (argv: JSON AttachmentTask; prints one JSON line).
 *
 * Ours: a file of `mb` MiB of random bytes, opened with `fs.openAsBlob` (never whole in memory), is stored as
 * `_files` on device A (storage 'file', default durability 'power'); A's `connect.raw` flushes it to a local
 * directory (each object written and fsync'd); a fresh device B (its own dir, A's key) connects to the same
 * directory, gets the doc and reads the attachment with `stream()`, hashing it: the SHA-256 must match.
 *
 * Floor, same bytes, same process: per 1 MiB chunk, AES-256-GCM (WebCrypto) + SHA-256 of the ciphertext (its
 * name) + its own file written and fsync'd (store); each sealed file copied to a second directory and fsync'd
 * (upload); each read back from there, its SHA-256 checked, decrypted and hashed (download + read).
 */
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openAsBlob, openSync, readFileSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export interface AttachmentTask {
  root: string
  mb: number
  /** Where the two devices meet: connect.raw over a local directory (default), connect.s3 against a throwaway
   * radosgw, or connect.partykit against `partykit dev`, both started here on 127.0.0.1 (packages/test-utils). */
  transport?: Transport
}
export type Transport = 'raw' | 's3' | 'partykit'

/** One phase: MiB/s and the peak RSS above the RSS at the phase's start (MiB). */
export interface Phase {
  mbPerS: number
  ms: number
  rssAboveMiB: number
}
export interface AttachmentResult {
  mb: number
  chunks: number
  transport: Transport
  ours: { store: Phase; upload: Phase; download: Phase; durability: string; remoteFiles: number }
  floor: { store: Phase; upload: Phase; download: Phase }
  sha256ok: boolean
  baselineRssMiB: number
}

const MiB = 1 << 20
const subtle = globalThis.crypto.subtle

/** Samples RSS every few ms (and on demand) while a phase runs; the peak above the RSS at its start. */
async function phase(mb: number, work: (sample: () => void) => Promise<void>): Promise<Phase> {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  await new Promise((done) => setTimeout(done, 20))
  const base = process.memoryUsage().rss
  let peak = base
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }
  const timer = setInterval(sample, 5)
  const t0 = performance.now()
  try {
    await work(sample)
  } finally {
    clearInterval(timer)
  }
  const ms = performance.now() - t0
  sample()
  return { mbPerS: mb / (ms / 1000), ms, rssAboveMiB: (peak - base) / MiB }
}

/** Synchronous calls, as core's node storage makes them: one write and its fsync cost less than a trip through
 * libuv's thread pool on a loaded machine, so this is the cheaper (floor) way to do it. */
function writeSynced(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w')
  try {
    writeSync(fd, bytes)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** A temp file of `mb` MiB of random bytes, written a MiB at a time (untimed); its path and SHA-256. */
function bigFile(dir: string, mb: number): { path: string; sha256: string } {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'input.bin')
  const hash = createHash('sha256')
  const fd = openSync(path, 'w')
  for (let i = 0; i < mb; i++) {
    const bytes = randomBytes(MiB)
    hash.update(bytes)
    writeSync(fd, bytes)
  }
  closeSync(fd)
  return { path, sha256: hash.digest('hex') }
}

async function floor(root: string, input: string, mb: number, sha256: string): Promise<AttachmentResult['floor'] & { ok: boolean }> {
  const key = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
  const local = join(root, 'floor-local')
  const remote = join(root, 'floor-remote')
  mkdirSync(local, { recursive: true })
  mkdirSync(remote, { recursive: true })
  const hex = (b: ArrayBuffer) => Buffer.from(b).toString('hex')
  const names: string[] = []
  const blob = await openAsBlob(input)
  const store = await phase(mb, async () => {
    for (let offset = 0; offset < blob.size; offset += MiB) {
      const plain = new Uint8Array(await blob.slice(offset, offset + MiB).arrayBuffer())
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(12))
      const sealed = new Uint8Array(12 + plain.length + 16)
      sealed.set(iv)
      sealed.set(new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv }, key, plain)), 12)
      const name = hex(await subtle.digest('SHA-256', sealed))
      writeSynced(join(local, name), sealed)
      names.push(name)
    }
  })
  const upload = await phase(mb, async () => {
    for (const name of names) writeSynced(join(remote, name), readFileSync(join(local, name)))
  })
  const hash = createHash('sha256')
  const download = await phase(mb, async () => {
    for (const name of names) {
      const sealed = readFileSync(join(remote, name))
      if (hex(await subtle.digest('SHA-256', sealed)) !== name) throw new Error(`floor: ${name} does not match its hash`)
      hash.update(new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: sealed.subarray(0, 12) }, key, sealed.subarray(12))))
    }
  })
  return { store, upload, download, ok: hash.digest('hex') === sha256 }
}

type Sync = import('@proj/core').Sync
type Database = import('@proj/core').Database
interface Remote {
  connect(db: Database): Sync
  /** Files uploaded so far (-1: not counted). */
  files(): number
  stop(): Promise<void>
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** A workspace package's source, imported by path: the bench does not depend on the connectors it measures
 * only on demand (their own node_modules resolve their dependencies). */
const workspaceSource = (path: string): Promise<any> => import(pathToFileURL(join(repoRoot, path)).href)

async function remoteFor(transport: Transport, root: string): Promise<Remote> {
  if (transport === 'raw') return rawRemote(root)
  const { startRadosgw, startPartykitDev } = await workspaceSource('packages/test-utils/src/index.ts')
  // A 100 MiB flush takes longer than the default flush timeout on a loaded machine.
  const syncOptions = { pollInterval: 0, flushTimeout: 1_800_000 }
  if (transport === 's3') {
    const gw = await startRadosgw()
    const { connect, s3ClientConfig } = await workspaceSource('packages/connect-s3/src/index.ts')
    const { S3Client, CreateBucketCommand } = await import(
      pathToFileURL(createRequire(join(repoRoot, 'packages/connect-s3/package.json')).resolve('@aws-sdk/client-s3')).href
    )
    const s3 = s3ClientConfig({ endpoint: gw.endpoint, forcePathStyle: true, credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey } })
    const bucket = `bench-${Date.now().toString(36)}`
    const client = new S3Client(s3)
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
    client.destroy()
    return { connect: (db) => connect.s3(db, { bucket, prefix: 'bench', s3 }, syncOptions), files: () => -1, stop: () => gw.stop() }
  }
  const packageDir = join(repoRoot, 'packages/connect-partykit')
  const dev = await startPartykitDev({ cwd: packageDir, config: join(packageDir, 'test/fixture/partykit.json') })
  const { connect } = await workspaceSource('packages/connect-partykit/src/index.ts')
  return { connect: (db) => connect.partykit(db, dev.url, syncOptions), files: () => -1, stop: () => dev.stop() }
}

async function rawRemote(root: string): Promise<Remote> {
  const { connect } = await import('@proj/connect-raw')
  const remote = join(root, 'ours-remote')
  let remoteFiles = 0
  // connect.raw over a local directory: one file per object, fsync'd like the floor's upload.
  const fns = {
    upload: async (bytes: Uint8Array, p: { type: string; name: string; car?: string; branch?: string }) => {
      const path = join(remote, p.name, p.type, p.car ?? p.branch!)
      mkdirSync(dirname(path), { recursive: true })
      writeSynced(path, bytes)
      if (p.car) remoteFiles++
    },
    download: async (p: { type: string; name: string; car?: string; branch?: string }) => {
      try {
        return new Uint8Array(readFileSync(join(remote, p.name, p.type, p.car ?? p.branch!)))
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw e
      }
    },
  }
  return { connect: (db) => connect.raw(db, fns), files: () => remoteFiles, stop: async () => {} }
}

async function ours(root: string, input: string, mb: number, sha256: string, transport: Transport) {
  const { database } = await import('@proj/core')
  const remote = await remoteFor(transport, root)
  try {
    return await oursThrough(remote, database, root, input, mb, sha256)
  } finally {
    await remote.stop()
  }
}

async function oursThrough(remote: Remote, database: typeof import('@proj/core').database, root: string, input: string, mb: number, sha256: string) {
  type Attachment = import('@proj/core').Attachment
  // Warm-up (untimed, its own database): the code paths of a put, a flush and a stream run once.
  {
    const warm = database('warm', { dir: join(root, 'warm'), compactEvery: 0 })
    await warm.put({ _id: 'w', _files: { 'w.bin': { data: new Uint8Array(2 * MiB + 1).fill(7), type: 'application/x' } } })
    const s = remote.connect(warm)
    await s.flush()
    const reader = ((await warm.get('w'))._files as Record<string, Attachment>)['w.bin']!.stream().getReader()
    while (!(await reader.read()).done);
    await s.close()
    await warm.close()
  }
  const filesBefore = remote.files()
  const a = database('video', { dir: join(root, 'device-a'), compactEvery: 0 })
  const blob = await openAsBlob(input, { type: 'video/mp4' })
  const store = await phase(mb, async () => {
    await a.put({ _id: 'v', title: 'a video', _files: { 'v.mp4': blob } })
  })
  const syncA = remote.connect(a)
  const upload = await phase(mb, async () => {
    await syncA.flush()
  })
  const key = await a.exportKey()
  await syncA.close()
  await a.close()

  const hash = createHash('sha256')
  let size = 0
  const b = database('video', { dir: join(root, 'device-b'), key, compactEvery: 0 })
  let syncB: Sync | undefined
  const download = await phase(mb, async (sample) => {
    syncB = remote.connect(b)
    await syncB.ready
    const doc = await b.get('v')
    const reader = (doc._files as Record<string, Attachment>)['v.mp4']!.stream().getReader()
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      hash.update(read.value)
      size += read.value.length
      sample()
    }
  })
  await syncB?.close()
  await b.close()
  return {
    store,
    upload,
    download,
    remoteFiles: remote.files() < 0 ? -1 : remote.files() - filesBefore,
    ok: size === mb * MiB && hash.digest('hex') === sha256,
    durability: "default ('power': fsync before put resolves)",
  }
}

export async function runAttachmentBench(task: AttachmentTask): Promise<AttachmentResult> {
  const baselineRssMiB = process.memoryUsage().rss / MiB
  // The floor's code paths run once (untimed) on 2 MiB first, as ours' warm-up does.
  const warm = bigFile(join(task.root, 'floor-warm'), 2)
  await floor(join(task.root, 'floor-warm'), warm.path, 2, warm.sha256)
  const { path, sha256 } = bigFile(task.root, task.mb)
  const fl = await floor(task.root, path, task.mb, sha256)
  const o = await ours(task.root, path, task.mb, sha256, task.transport ?? 'raw')
  if (!fl.ok) throw new Error('floor: the bytes read back do not match the input')
  const { ok, remoteFiles, durability, ...phases } = o
  return {
    mb: task.mb,
    transport: task.transport ?? 'raw',
    chunks: Math.ceil(task.mb),
    ours: { ...phases, durability, remoteFiles },
    floor: { store: fl.store, upload: fl.upload, download: fl.download },
    sha256ok: ok,
    baselineRssMiB,
  }
}

/** The report's section for a result (markdown). */
const THROUGH: Record<Transport, string> = {
  raw: "connect.raw over a local directory (each object written and fsync'd)",
  s3: 'connect.s3 against a single-node radosgw (Ceph, memstore OSD) on 127.0.0.1',
  partykit: 'connect.partykit against `partykit dev` (workerd, local SQLite room storage) on 127.0.0.1',
}

export function attachmentSection(r: AttachmentResult, when: string, command: string): string {
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
  const rows: [string, Phase, Phase][] = [
    ['store (`put` of `_files` from `fs.openAsBlob`: read, chunk, seal, write)', r.ours.store, r.floor.store],
    [`upload (\`connect.${r.transport}(...).flush()\`)`, r.ours.upload, r.floor.upload],
    ['download + read (fresh device B: `ready`, `get`, `stream()` to the end)', r.ours.download, r.floor.download],
  ]
  const lines = [
    `## W10${r.transport === 'raw' ? '' : `.${r.transport}`} attachments: ${r.mb} MiB through connect.${r.transport}, against the crypto + fs floor`,
    '',
    `${when}. Command: \`${command}\`. One child process, floor first, then ours, on the same ${r.mb} MiB file of random bytes ` +
      `(${r.chunks} chunks of 1 MiB). Through ${THROUGH[r.transport]}. Durability: ours ${r.ours.durability}; ` +
      `the floor fsyncs every chunk file it writes. SHA-256 of what device B streamed ${r.sha256ok ? 'matches the input' : '**DOES NOT MATCH** the input (FAILED)'}.`,
    '',
    '| phase | ours MiB/s | floor MiB/s | ours ÷ floor (time) | ours RSS peak above phase start | floor RSS peak |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(([label, o, fl]) => `| ${label} | ${f(o.mbPerS)} | ${f(fl.mbPerS)} | ${(o.ms / fl.ms).toFixed(2)}× | ${f(o.rssAboveMiB)} MiB | ${f(fl.rssAboveMiB)} MiB |`),
    '',
    `Floor per 1 MiB chunk: AES-256-GCM (WebCrypto) + SHA-256 of the ciphertext + its own file written and fsync'd (store); ` +
      `each sealed file read and written to a second local directory with fsync (upload${r.transport === 'raw' ? '' : ': a local copy, no network or server, so its ratio is not like for like'}); each read back from there, SHA-256 checked, decrypted (download + read). ` +
      `${r.ours.remoteFiles >= 0 ? `Ours' upload wrote ${r.ours.remoteFiles} files (chunks and the document's files) and the meta. ` : ''}RSS sampled every 5 ms and at each streamed chunk; ` +
      `process RSS at the start ${f(r.baselineRssMiB)} MiB.`,
    '',
  ]
  return lines.join('\n')
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!) && process.argv[2]) {
  const task = JSON.parse(process.argv[2]) as AttachmentTask
  try {
    process.stdout.write(JSON.stringify(await runAttachmentBench(task)) + '\n')
    process.exit(0)
  } catch (e) {
    process.stderr.write(String((e as Error)?.stack ?? e) + '\n')
    process.exit(1)
  }
}
