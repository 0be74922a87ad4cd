import { decodeCar, verifyBlock, verifyFile } from './blockstore/car-file.js'
import type { Connector } from './connector/api.js'
import { open } from './crypto/envelope.js'
import type { DatabaseKey } from './crypto/key.js'
import { importKey, keyFromString } from './crypto/key.js'
import { KeyRing } from './crypto/key-epochs.js'
import { keyLearner, loadKey } from './crypto/keybag.js'
import { readHeads, type HeadState } from './database/head.js'
import { openStorage } from './database/open-storage.js'
import { checkName } from './values/validate.js'
import { KeyMismatchError } from './errors.js'
import { readIndexes } from './index/record.js'
import type { Storage } from './storage/api.js'
import { openHead } from './sync/meta-entry.js'
import { Outbox } from './sync/outbox.js'

/**
 * Read-only inspection and verification of a database's stored files, locally or at a backend, for tools
 * (the `proj` CLI) and for checking a backup. Every file is read whole: its bytes are hashed against its name,
 * decrypted, parsed, and every block in it is hashed against its CID. Nothing is written, repaired or merged.
 */

/** Something wrong with one stored file. */
export interface FileProblem {
  file: string
  /**
   * 'missing': a head or a file header names it and it is not there; 'corrupt': its bytes do not hash to its
   * name, do not decrypt (AES-GCM tag), or a block in it does not hash to its CID; 'wrong-key': it was
   * sealed with another key.
   */
  kind: 'missing' | 'corrupt' | 'wrong-key'
  detail: string
}

/** Files checked so far; `total` grows while a backend's files are discovered from headers. */
export interface InspectProgress {
  done: number
  total: number
  bytes: number
}

export interface InspectOptions {
  /** Meta branch, default 'main'. */
  branch?: string
  /** Called after each file is checked (for progress bars). */
  onProgress?: (progress: InspectProgress) => void
}

export interface FilesReport {
  /** Files read (present and checked). */
  count: number
  bytes: number
  blocks: number
}

/** A backend this device synced with, from the record sync keeps of what it holds. */
export interface BackendRecord {
  /** The connector's name ('http', 's3', 'partykit', …). */
  connector: string
  /** The first 12 bytes (hex) of SHA-256 of the connector id (its URL, bucket, room…), as the record names it. */
  idHash: string
  /** Local files the current head needs that this backend does not hold yet (the next push uploads them). */
  pending: { files: number; bytes: number }
}

export interface LocalReport {
  name: string
  /** Where the data lives (the database directory). */
  location: string
  branch: string
  /** The clock heads of the stored head (empty for a database without writes). */
  heads: string[]
  height: number
  /** Heads other instances stored that the head does not contain yet (merged on the next open). */
  unmerged: number
  /** Every file stored locally (each one checked). */
  files: FilesReport
  /** Files the head needs (through file headers) that are not stored here: expected on a device that reads lazily from a backend. */
  notLocal: string[]
  /** Persisted secondary indexes: field names, and map-function index names. */
  indexes: { name: string; kind: 'field' | 'map' }[]
  /** One per backend this device has synced this branch with. */
  backends: BackendRecord[]
  /** Whether this database was ever connected to a sync (files absent here may then live at a backend). */
  replicated: boolean
  problems: FileProblem[]
}

export interface BackendReport {
  name: string
  /** The connector's name and id. */
  backend: string
  branch: string
  /** Meta entries at the backend, and those sealed with another key (skipped). */
  entries: { count: number; foreign: number; unreadable: number }
  /** The heads of every entry that opens with the key. */
  heads: string[]
  height: number
  /** The files the entries' heads need, found by walking file headers, each one downloaded and checked. */
  files: FilesReport
  problems: FileProblem[]
}

interface Walk {
  files: FilesReport
  problems: FileProblem[]
  /** Files that could not be read: absent. */
  absent: string[]
  /** Files checked, with their size (absent and unreadable ones left out). */
  sizes: Map<string, number>
}

/**
 * Checks a local database (Node: the folder `<dir>/<name>/`) without changing it: every stored file, the head
 * record's heads, indexes and, per backend it synced with, what is not uploaded yet. Throws when there is no
 * database there (no keybag), `KeyMismatchError` when `key` is not the one kept there, `DatabaseLockedError`
 * when another process has it open.
 */
export async function inspectLocal(
  name: string,
  options: InspectOptions & { dir?: string; key?: string } = {},
): Promise<LocalReport> {
  checkName(name)
  const branch = options.branch ?? 'main'
  const storage = await openStorage(name, { ...(options.dir === undefined ? {} : { dir: options.dir }) })
  try {
    // loadKey writes a new key when none is kept: an absent keybag means there is no database to inspect.
    if (!(await storage.readRecord('keybag'))) {
      throw new Error(`No database ${JSON.stringify(name)} at ${storage.location} (it has no keybag record)`)
    }
    const key = await loadKey(storage, name, options.key)
    const stored = await readHeads(storage, branch)
    const head = stored[0]
    const local = await storage.listFiles()
    const source = (file: string) => storage.readFile(file)
    // The head's closure first (it decides what is pending per backend), then every other local file.
    const synced = await walk(key, name, source, headFiles(stored), local.length, options.onProgress)
    const rest = local.filter((file) => !synced.sizes.has(file))
    const others = await walk(key, name, source, rest, local.length, options.onProgress, {
      done: synced.files.count + synced.absent.length,
      follow: false,
    })
    const replicated = (await storage.readRecord('replicated')) !== undefined
    const problems = [...synced.problems, ...others.problems]
    // On a device that synced, a file absent here may live at the backend (lazy reads): not a problem here.
    if (!replicated) {
      for (const file of synced.absent) problems.push({ file, kind: 'missing', detail: missingDetail(file, stored) })
    }
    const indexes = [...(await readIndexes(storage, branch)).values()].map((index) =>
      index.name.startsWith('field:')
        ? { name: index.name.slice('field:'.length), kind: 'field' as const }
        : { name: index.name.replace(/^named:/, ''), kind: 'map' as const },
    )
    return {
      name,
      location: storage.location,
      branch,
      heads: head ? head.heads.map(String) : [],
      height: head?.height ?? 0,
      unmerged: Math.max(0, stored.length - 1),
      files: {
        count: synced.files.count + others.files.count,
        bytes: synced.files.bytes + others.files.bytes,
        blocks: synced.files.blocks + others.files.blocks,
      },
      notLocal: replicated ? synced.absent : [],
      indexes,
      backends: await backendRecords(storage, branch, synced.sizes),
      replicated,
      problems,
    }
  } finally {
    await storage.close()
  }
}

/**
 * Checks what a backend holds for a database: opens each meta entry of the branch with `key`, then downloads
 * every file their heads need (walking file headers) and checks it. Throws `KeyMismatchError` when entries
 * exist and none opens with the key. Transport failures are thrown as the connector throws them.
 */
export async function inspectBackend(
  connector: Connector,
  name: string,
  options: InspectOptions & { key: string },
): Promise<BackendReport> {
  checkName(name)
  const branch = options.branch ?? 'main'
  const key = new KeyRing([await importKey(keyFromString(options.key))])
  // Files sealed before a rotation open with the earlier keys a meta entry's key-epoch file carries.
  key.onLearn(
    keyLearner(key, undefined, name, async (file) => {
      const bytes = await connector.download(name, file)
      if (!bytes) throw new KeyMismatchError(name, `the key-epoch file ${file} is not at ${connector.name}`)
      await verifyFile(file, bytes)
      return bytes
    }),
  )
  const entries = await connector.load(name, branch)
  const heads: HeadState[] = []
  let foreign = 0
  let unreadable = 0
  for (const entry of entries) {
    try {
      heads.push(await openHead(key, entry, name))
    } catch (error) {
      if ((error as Error).name === 'KeyMismatchError') foreign++
      else unreadable++
    }
  }
  if (entries.length && !heads.length && foreign) {
    throw new KeyMismatchError(name, `none of the ${entries.length} meta entries at ${connector.name} opens with this key`)
  }
  const source = (file: string) => connector.download(name, file)
  const result = await walk(key, name, source, headFiles(heads), 0, options.onProgress)
  const problems = [
    ...result.problems,
    ...result.absent.map((file): FileProblem => ({ file, kind: 'missing', detail: missingDetail(file, heads) })),
  ]
  const clock = new Set(heads.flatMap((head) => head.heads.map(String)))
  return {
    name,
    backend: connector.id ?? connector.name,
    branch,
    entries: { count: entries.length, foreign, unreadable },
    heads: [...clock],
    height: Math.max(0, ...heads.map((head) => head.height)),
    files: result.files,
    problems,
  }
}

function headFiles(heads: HeadState[]): string[] {
  return [...new Set(heads.flatMap((head) => head.files))]
}

function missingDetail(file: string, heads: HeadState[]): string {
  return heads.some((head) => head.files.includes(file))
    ? 'the head names it, and it is not stored'
    : 'a file header names it, and it is not stored'
}

/**
 * Reads and checks `start` and (with `follow`) every file their headers name, breadth first. Each file is
 * checked once: its bytes hash to its name, they decrypt, the CAR and its header parse, every block hashes
 * to its CID, and a head event named for a head file is in it.
 */
async function walk(
  key: DatabaseKey,
  database: string,
  read: (file: string) => Promise<Uint8Array | undefined>,
  start: string[],
  knownTotal: number,
  onProgress: InspectOptions['onProgress'],
  options: { done?: number; follow?: boolean } = {},
): Promise<Walk> {
  const follow = options.follow ?? true
  const out: Walk = { files: { count: 0, bytes: 0, blocks: 0 }, problems: [], absent: [], sizes: new Map() }
  const seen = new Set(start)
  const queue = [...start]
  let done = options.done ?? 0
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i]!
    const bytes = await read(file)
    if (!bytes) {
      out.absent.push(file)
    } else {
      out.sizes.set(file, bytes.length)
      out.files.count++
      out.files.bytes += bytes.length
      try {
        const { references, blocks } = await checkFile(key, database, file, bytes)
        out.files.blocks += blocks
        if (follow) {
          for (const next of references) {
            if (seen.has(next)) continue
            seen.add(next)
            queue.push(next)
          }
        }
      } catch (error) {
        const kind = (error as Error).name === 'KeyMismatchError' ? 'wrong-key' : 'corrupt'
        out.problems.push({ file, kind, detail: (error as Error).message })
      }
    }
    done++
    onProgress?.({ done, total: Math.max(knownTotal, done + queue.length - i - 1), bytes: out.files.bytes })
  }
  return out
}

async function checkFile(
  key: DatabaseKey,
  database: string,
  file: string,
  sealed: Uint8Array,
): Promise<{ references: string[]; blocks: number }> {
  await verifyFile(file, sealed)
  const plain = await open(key, sealed, file, database)
  const { header, blocks } = await decodeCar(plain, file)
  for (const block of blocks) await verifyBlock(block, file)
  return { references: header.locations.map(([holder]) => holder.toString()), blocks: blocks.length + 1 }
}

/** What each backend's sync record says it holds, against the files the head needs that are stored here. */
async function backendRecords(storage: Storage, branch: string, needed: Map<string, number>): Promise<BackendRecord[]> {
  const names = await storage.listRecords()
  const out: BackendRecord[] = []
  for (const record of names) {
    // sync.<connector>.<id hash>.<branch> (see sync.ts); branch names hold no '.'.
    const parts = record.split('.')
    if (parts[0] !== 'sync' || parts.length < 4 || parts[parts.length - 1] !== branch) continue
    const bytes = await storage.readRecord(record)
    if (!bytes) continue
    const outbox = Outbox.decode(bytes, record)
    const pending = { files: 0, bytes: 0 }
    for (const [file, size] of needed) {
      if (outbox.isHeld(file)) continue
      pending.files++
      pending.bytes += size
    }
    out.push({ connector: parts.slice(1, -2).join('.'), idHash: parts[parts.length - 2]!, pending })
  }
  return out
}
