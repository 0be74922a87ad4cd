import { createHash } from 'node:crypto'
import { closeSync, existsSync, fdatasyncSync, fsyncSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { decodeWriteLog, encodeWriteLogEntry, WRITE_LOG_HEADER, type WriteLogEntry } from '../format/write-log.js'

/**
 * The write log of one database directory (format/write-log.ts), shared by every storage instance over it in
 * this process (the directory lock keeps other processes out). With durability 'process' a transaction's file
 * and its head record are two appends to this one open file instead of a file creation, a temp file and a
 * rename: the kernel has the bytes before the write resolves, so kill -9 loses nothing. Readers look here first.
 *
 * The log is moved into `files/` and `records/` (fsync'd, then the log is deleted) when the last instance
 * closes, when a database opens and finds a log left by a crash (entries cut off or half written by the crash
 * are dropped), before a file is deleted (compaction), and before an instance with durability 'power' writes
 * directly. So `files/` and `records/` hold everything older than the log's first entry, and the directory
 * layout a closed database leaves is the one every earlier version reads.
 */
export interface WriteLog {
  readonly path: string
  hasFile(cid: string): boolean
  readFile(cid: string): Uint8Array | undefined
  /** The record's bytes, `null` when the log deletes it, `undefined` when the log does not name it. */
  readRecord(name: string): Uint8Array | null | undefined
  fileNames(): string[]
  recordNames(): Map<string, boolean>
  isEmpty(): boolean
  /** Bytes in the log file (0 when there is none). */
  size(): number
  append(entry: WriteLogEntry): void
  /**
   * Makes every entry appended so far survive a power loss: one fdatasync of the log (and, the first time,
   * an fsync of the folder holding it). Durability 'power' calls it after each record change.
   */
  sync(): void
  /**
   * Moves every entry into `files/` and `records/` and deletes the log; `toDisk` (durability 'power') fsyncs
   * each file and folder before the log goes, as a direct write would. Without it the order still holds for a
   * process crash: the log is deleted only after every entry was written out, and a crash before replays it.
   */
  checkpoint(toDisk: boolean): void
  /** The last user of this process checkpoints. */
  release(toDisk: boolean): void
}

interface State {
  fd: number | undefined
  /** The log file was created since the folder holding it was last fsync'd. */
  fresh: boolean
  size: number
  files: Map<string, { offset: number; length: number }>
  records: Map<string, Uint8Array | null>
  users: number
}

const open = new Map<string, { log: WriteLog; state: State }>()

export function joinWriteLog(root: string, location: string, toDisk: boolean): WriteLog {
  const known = open.get(root)
  if (known) {
    known.state.users++
    return known.log
  }
  const path = join(root, 'log')
  const filesDir = join(root, 'files')
  const recordsDir = join(root, 'records')
  const state: State = { fd: undefined, fresh: false, size: 0, files: new Map(), records: new Map(), users: 1 }

  function writeAll(fd: number, bytes: Uint8Array, position: number): void {
    let offset = 0
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset, position + offset)
  }

  function fsyncDir(dir: string, toDisk: boolean): void {
    if (!toDisk) return
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }

  function writeOut(target: string, bytes: Uint8Array, toDisk: boolean): void {
    const fd = openSync(target, 'w')
    try {
      writeAll(fd, bytes, 0)
      if (toDisk) fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }

  function readBody(offset: number, length: number): Uint8Array {
    const bytes = new Uint8Array(length)
    let done = 0
    while (done < length) {
      const read = readSync(state.fd!, bytes, done, length - done, offset + done)
      if (read === 0) throw new Error(`The write log ${JSON.stringify(path)} ends before a body it indexes`)
      done += read
    }
    return bytes
  }

  const log: WriteLog = {
    path,
    hasFile: (cid) => state.files.has(cid),
    readFile(cid) {
      const at = state.files.get(cid)
      return at && readBody(at.offset, at.length)
    },
    readRecord: (name) => state.records.get(name),
    fileNames: () => [...state.files.keys()],
    recordNames: () => new Map([...state.records].map(([name, bytes]) => [name, bytes !== null])),
    isEmpty: () => state.fd === undefined,
    size: () => state.size,
    append(entry) {
      if (state.fd === undefined) {
        state.fd = openSync(path, 'w+')
        state.fresh = true
        writeAll(state.fd, WRITE_LOG_HEADER, 0)
        state.size = WRITE_LOG_HEADER.length
      }
      const bytes = encodeWriteLogEntry(entry)
      writeAll(state.fd, bytes, state.size)
      const bodyOffset = state.size + bytes.length - 4 - (entry.kind === 'deleted' ? 0 : entry.body.length)
      state.size += bytes.length
      if (entry.kind === 'file') state.files.set(entry.name, { offset: bodyOffset, length: entry.body.length })
      else state.records.set(entry.name, entry.kind === 'record' ? entry.body.slice() : null)
    },
    sync() {
      if (state.fd === undefined) return
      fdatasyncSync(state.fd)
      if (state.fresh) {
        fsyncDir(root, true)
        state.fresh = false
      }
    },
    checkpoint(toDisk) {
      if (state.fd === undefined) return
      for (const [cid, at] of state.files) writeOut(join(filesDir, cid), readBody(at.offset, at.length), toDisk)
      for (const [name, bytes] of state.records) {
        if (bytes) writeOut(join(recordsDir, name), bytes, toDisk)
        else if (existsSync(join(recordsDir, name))) unlinkSync(join(recordsDir, name))
      }
      fsyncDir(filesDir, toDisk)
      fsyncDir(recordsDir, toDisk)
      closeSync(state.fd)
      unlinkSync(path)
      fsyncDir(root, toDisk)
      state.fd = undefined
      state.size = 0
      state.files.clear()
      state.records.clear()
    },
    release(toDisk) {
      if (--state.users > 0) return
      open.delete(root)
      log.checkpoint(toDisk)
    },
  }

  recover(path, `The write log of ${JSON.stringify(location)}`, state, log, toDisk)
  open.set(root, { log, state })
  return log
}

/** Reads a log a crash left behind, keeps its whole, verified entries, and checkpoints them. */
function recover(path: string, where: string, state: State, log: WriteLog, toDisk: boolean): void {
  if (!existsSync(path)) return
  const bytes = readFileSync(path)
  const { entries } = decodeWriteLog(bytes, where)
  state.fd = openSync(path, 'r')
  for (const { entry, bodyOffset } of entries) {
    if (entry.kind === 'file') {
      // A file entry must hash to its name, as every stored file must; one that does not ends the log.
      if (!hashesTo(entry.name, entry.body)) break
      state.files.set(entry.name, { offset: bodyOffset, length: entry.body.length })
    } else state.records.set(entry.name, entry.kind === 'record' ? entry.body.slice() : null)
  }
  log.checkpoint(toDisk)
}

function hashesTo(name: string, body: Uint8Array): boolean {
  let cid: CID
  try {
    cid = CID.parse(name)
  } catch {
    return false
  }
  const digest = createHash('sha256').update(body).digest()
  const expected = cid.multihash.digest
  return cid.multihash.code === 0x12 && expected.length === digest.length && digest.every((byte, i) => byte === expected[i])
}
