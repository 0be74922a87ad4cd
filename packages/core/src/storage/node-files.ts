import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { localPeers } from './local-peers.js'
import type { Storage, SynchronousWrites } from './api.js'
import { lockDirectory } from './directory-lock.js'
import type { Durability } from './durability.js'
import { joinWriteLog, type WriteLog } from './write-log.js'

/**
 * Files under `<dir>/<name>/`: `files/<cid>` (large stored files), `records/<name>` (meta, keybag, outbox), and
 * the write log with its sealed segments (write-log.ts), which hold the small stored files and the latest
 * record changes. A stored file below DIRECT_FILE_BYTES and every record change are appended to the log at both
 * durability levels.
 *
 * Durability 'power' fdatasyncs the log after each record change (and before a file is deleted): a
 * transaction's file and its head record, appended in that order to one file, are made durable by one fsync.
 * Durability 'process' does not fsync: each write has reached the kernel before it resolves, which a killed
 * process cannot undo, so a process crash loses nothing acknowledged; a power loss may lose the latest writes
 * (the log is cut back to its last whole entry when the database opens). A stored file of DIRECT_FILE_BYTES or
 * more (a compaction's ~256 KiB files, a large bulk) goes to `files/` directly (temp file, fsync, rename) before
 * its write resolves: one fsync is small beside its size, and the log stays a log of small writes. Nothing
 * names it before its write resolves, and a file is immutable and named by its hash, so the order of the two
 * places does not matter.
 *
 * One process at a time: `<dir>/<name>/LOCK` (see directory-lock.ts) makes a second process's open fail with
 * DatabaseLockedError. Inside the process, any number of instances may share the directory: they hold the
 * lock together and hear each other's record changes (`watch`), as tabs do over IndexedDB.
 */
/**
 * Stored files from this size up bypass the write log (see nodeFileStorage): a 1 000-doc transaction
 * (~180 KB) stays in the log, a compaction file (256 KiB and a little more) does not.
 */
export const DIRECT_FILE_BYTES = 256 * 1024

/** The write log is sealed into a segment (write-log.ts) once it passes this size. */
export const LOG_SEAL_BYTES = 8 * 1024 * 1024
/** After a seal that failed, how much more the log grows before the next try. */
const SEAL_RETRY_BYTES = 1024 * 1024

export function nodeFileStorage(name: string, options: { dir?: string; durability?: Durability } = {}): Storage {
  const toDisk = (options.durability ?? 'power') === 'power'
  const root = resolve(options.dir ?? '.proj-data', name)
  const filesDir = join(root, 'files')
  const recordsDir = join(root, 'records')
  mkdirSync(filesDir, { recursive: true })
  mkdirSync(recordsDir, { recursive: true })
  const release = lockDirectory(root)
  const peers = localPeers(root)
  // An instance opened while another runs a whileAlone task (a compaction) waits for it.
  // Every operation first waits while another instance runs a whileAlone task: `const busy = peers.ready()`,
  // then `if (busy) await busy`, so that the hot writes (a put's file and head record) take no async step of
  // their own when no one does.

  // Writes are synchronous: a write and its fsync take well under a millisecond here, while the same calls
  // through fs/promises cost a threadpool round trip each (measured ~3x slower per transaction).
  let closed = false
  let log: WriteLog
  try {
    log = joinWriteLog(root, root)
  } catch (error) {
    peers.close()
    release()
    throw error
  }
  function writeAll(fd: number, bytes: Uint8Array): void {
    let offset = 0
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset)
  }

  /** A stored file too large for the log (see DIRECT_FILE_BYTES). */
  function writeFileDirectly(cid: string, bytes: Uint8Array): void {
    const temp = join(filesDir, `.${cid}.${randomBytes(6).toString('hex')}.tmp`)
    const fd = openSync(temp, 'w')
    try {
      writeAll(fd, bytes)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, join(filesDir, cid))
  }

  async function readOrUndefined(path: string): Promise<Uint8Array | undefined> {
    try {
      const buffer = await readFile(path)
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  // Records go to the log at both levels; 'power' fdatasyncs it before the change resolves: one fsync per
  // record change, which also covers the stored files appended before it (the transaction's file).
  /** `previous`: the record's value before (read here unless the caller has it), restored if the fdatasync fails. */
  function putRecord(record: string, bytes: Uint8Array, previous = toDisk ? readRecordSync(record) : undefined): void {
    log.append({ kind: 'record', name: record, body: bytes })
    if (toDisk) {
      try {
        log.sync()
      } catch (error) {
        undoRecord(record, previous)
        throw error
      }
    }
    bound()
  }

  /**
   * After an fdatasync that failed: the change is rejected, but its entry already went to the kernel. An entry
   * restoring the value before it follows, so that a process crash does not bring back a write its caller was
   * told failed (storage-write-failure.test). Best effort: if this write fails too, the log is as it was.
   */
  function undoRecord(record: string, previous: Uint8Array | undefined): void {
    try {
      log.append(previous === undefined ? { kind: 'deleted', name: record } : { kind: 'record', name: record, body: previous })
    } catch {
      // The failure the caller is told about is the fdatasync's.
    }
  }

  // An open reads the current log whole (segments by their index): past a size, it is sealed. Deleted files'
  // bytes come back at a seal: past the same size of them (a compaction), it is sealed too.
  // A seal is upkeep after a change already in the log: one that fails (a full disk) does not fail that change,
  // which would then come back after a reopen though its caller was told it failed. It is tried again once the
  // log has grown by SEAL_RETRY_BYTES (not at every write, each of which would then redo a seal's work), and at
  // close, which reports its failure; meanwhile a process warning says so.
  let sealAgainAt = 0
  function bound(): void {
    if (log.size() <= LOG_SEAL_BYTES && log.deletedBytes() <= LOG_SEAL_BYTES) return
    if (log.size() < sealAgainAt) return
    try {
      log.seal()
      sealAgainAt = 0
    } catch (error) {
      sealAgainAt = log.size() + SEAL_RETRY_BYTES
      process.emitWarning(`Sealing the write log of ${JSON.stringify(root)} failed (${(error as Error).message}); every write is kept, the seal is tried again later`, {
        code: 'PROJ_LOG_SEAL_FAILED',
      })
    }
  }

  // Records are small (a head, a keybag, an index root): read synchronously, as they are written. Through
  // fs/promises each read was four threadpool round trips (open, stat, read, close), and an open makes six
  // record reads, three of absent records, before its first get.
  /** The stored files in `files/` (dot files are temp files of writes in progress). */
  function filesInDir(): string[] {
    return readdirSync(filesDir).filter((f) => !f.startsWith('.'))
  }

  function readRecordSync(record: string): Uint8Array | undefined {
    const logged = log.readRecord(record)
    if (logged !== undefined) return logged ?? undefined
    const path = join(recordsDir, record)
    // An open reads three records that a database without compactions or indexes lacks: a failed read throws
    // an error with a formatted message and a stack (~0.06 ms each in a cold process), existsSync does not.
    if (!existsSync(path)) return undefined
    try {
      const buffer = readFileSync(path)
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  const now: SynchronousWrites = {
    // Not looked for in files/ (a stat per transaction, ~5% of a single put): a new file's name is new (its
    // envelope has a fresh random IV), and a file written again there (a reimport) is only stored twice,
    // with the same bytes, which reads, listing and deletion all allow for.
    writeFile(cid, bytes) {
      if (log.hasFile(cid)) return
      if (bytes.length >= DIRECT_FILE_BYTES) writeFileDirectly(cid, bytes)
      else {
        log.append({ kind: 'file', name: cid, body: bytes })
        bound()
      }
    },
    // Synchronous from read to rename: no other instance in this process can interleave, and the lock keeps
    // other processes out.
    updateRecord(record, change) {
      const current = readRecordSync(record)
      const next = change(current)
      if (next === undefined) return current
      putRecord(record, next, current)
      peers.announce(record)
      return next.slice()
    },
  }

  return {
    location: root,
    async readFile(cid) {
      const busy = peers.ready()
      if (busy) await busy
      const logged = log.readFile(cid)
      if (logged) return logged
      // A file not stored here (a remote head file about to be downloaded) is answered at once: a failed open
      // through fs/promises is a threadpool round trip, which a reader applying live changes waits out behind
      // whatever else the event loop runs (live-latency burst memory: p50 5 -> 0.9 ms).
      if (!existsSync(join(filesDir, cid))) return undefined
      return readOrUndefined(join(filesDir, cid))
    },
    // A stored file needs no temp file in the log: a torn entry fails its CRC, every file read from the log is
    // checked against its CID, and the head that names a file is written after it. At 'power' the file is
    // durable once the record change that names it resolves (one fdatasync of the log covers both), or
    // before any file is deleted.
    async writeFile(cid, bytes) {
      const busy = peers.ready()
      if (busy) await busy
      now.writeFile(cid, bytes)
    },
    // Whatever was written before a deletion is durable before it: a compaction deletes files only after
    // writing the ones that replace them.
    async deleteFile(cid) {
      const busy = peers.ready()
      if (busy) await busy
      if (toDisk) log.syncWrites()
      log.deleteFile(cid)
      bound()
      await rm(join(filesDir, cid), { force: true })
    },
    // files/ holds only the large files (DIRECT_FILE_BYTES and up), so it is listed synchronously: an open
    // counts the files written since the last compaction.
    async listFiles() {
      const busy = peers.ready()
      if (busy) await busy
      const stored = filesInDir()
      const inDir = new Set(stored)
      return [...stored, ...log.fileNames().filter((file) => !inDir.has(file))]
    },
    async fileSizes() {
      const busy = peers.ready()
      if (busy) await busy
      const sizes = new Map<string, number>()
      for (const file of filesInDir()) {
        const size = await stat(join(filesDir, file)).then(({ size }) => size, () => undefined)
        if (size !== undefined) sizes.set(file, size)
      }
      for (const file of log.fileNames()) if (!sizes.has(file)) sizes.set(file, log.fileSize(file)!)
      return sizes
    },
    async readRecord(record) {
      const busy = peers.ready()
      if (busy) await busy
      const logged = log.readRecord(record)
      if (logged !== undefined) return logged?.slice() ?? undefined
      return readRecordSync(record)
    },
    async writeRecord(record, bytes) {
      const busy = peers.ready()
      if (busy) await busy
      putRecord(record, bytes)
      peers.announce(record)
    },
    // Synchronous from read to rename (after the gate): no other instance in this process can interleave,
    // and the lock keeps other processes out.
    async updateRecord(record, change) {
      const busy = peers.ready()
      if (busy) await busy
      return now.updateRecord(record, change)
    },
    writeNow: () => (peers.ready() ? undefined : now),
    async deleteRecord(record) {
      const busy = peers.ready()
      if (busy) await busy
      log.append({ kind: 'deleted', name: record })
      if (toDisk) log.sync()
      peers.announce(record)
    },
    async listRecords() {
      const busy = peers.ready()
      if (busy) await busy
      const logged = log.recordNames()
      const stored = (await readdir(recordsDir)).filter((f) => !f.startsWith('.') && !logged.has(f))
      return [...stored, ...[...logged].filter(([, live]) => live).map(([name]) => name)]
    },
    watch: (listener) => peers.watch(listener),
    whileAlone: (task) => peers.whileAlone(task),
    async close() {
      if (closed) return
      closed = true
      peers.close()
      try {
        log.release()
      } finally {
        release()
      }
    },
  }
}
