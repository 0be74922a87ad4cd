import { createHash, randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { CID } from 'multiformats/cid'
import {
  blankRecordEntryAt,
  decodeSegmentIndex,
  decodeWriteLog,
  encodeSegmentIndex,
  encodeWriteLogEntry,
  WRITE_LOG_HEADER,
  type SegmentIndexEntry,
  type WriteLogEntry,
  writeLogEntryLength,
} from '../format/write-log.js'

/**
 * The write log of one database directory (format/write-log.ts), shared by every storage instance over it in
 * this process (the directory lock keeps other processes out). A transaction's stored file and its head record
 * are two appends to this one open file; durability 'power' fdatasyncs it after each record change, which
 * makes the file appended before the record durable too: one fsync per transaction. Readers look here first.
 *
 * The log is the permanent home of the small files appended to it: once it passes a size, and at the last
 * close, it is sealed: renamed to `segments/<n>.log` next to an index of its live files (`segments/<n>.index`),
 * and a new log starts. Sealing copies no file: it moves the few records into `records/` (temp file, fsync,
 * rename), writes the index (fsync) and renames the log, a fixed handful of fsyncs whatever the number of
 * files. An open reads the indexes and the current log, not the segments. A closed directory keeps an empty
 * log (its version 2 header), so that earlier versions refuse it instead of missing the segments' files.
 *
 * Deleting a file of the log or of a segment appends a 'file deleted' entry; sealing applies those to the
 * older segments' indexes (rewritten, or the segment deleted once nothing in it lives), and a segment left
 * mostly dead has its live files appended to the log first, so space comes back. File entries read back by
 * scanning (the log at open, a segment without a usable index, a segment's live files moved forward) are
 * checked against their CID and skipped when they do not match; a file read through an index is checked by
 * the block store, as a file of `files/` is, which tells a damaged copy (IntegrityError) from a missing one.
 *
 * Crash order: an index is written before its segment is renamed into place, a rewritten index only lists
 * files the current log deletes (replayed again at open if the log is not yet sealed), and an index whose
 * segment is missing (a crash between the two steps) is deleted at open. A log of version 1 (earlier versions)
 * is moved into `files/` and `records/` at open, fsync'd, and deleted: the migration.
 */
export interface WriteLog {
  readonly path: string
  hasFile(cid: string): boolean
  /**
   * The file's bytes, as stored (the block store checks them against the CID, as it does a file of `files/`,
   * and tells a damaged copy from a missing one); `undefined` when no live entry holds it.
   */
  readFile(cid: string): Uint8Array | undefined
  /** The record's bytes, `null` when the log deletes it, `undefined` when the log does not name it. */
  readRecord(name: string): Uint8Array | null | undefined
  fileNames(): string[]
  /** The bytes of a file the log holds, without reading it; undefined when it holds none. */
  fileSize(cid: string): number | undefined
  recordNames(): Map<string, boolean>
  /** Bytes in the current log file (0 when there is none). */
  size(): number
  /** Bytes of segment files deleted since the last seal (their space comes back at the next one). */
  deletedBytes(): number
  /** A file entry is written with the next other entry (see State.pending); a record change or deletion at once. */
  append(entry: WriteLogEntry): void
  /** Writes the file entries still buffered (for tools that read the log file itself). */
  flush(): void
  /** Appends a 'file deleted' entry when the log or a segment holds the file; no sync (see deleteFile). */
  deleteFile(cid: string): void
  /**
   * Makes every entry appended so far survive a power loss: one fdatasync of the log (and, the first time,
   * an fsync of the folder holding it); nothing when nothing was appended since the last one.
   */
  sync(): void
  /**
   * sync() if a file or a record change is not yet durable: before a deletion, which must not outlive the
   * writes that replace what it deletes. 'File deleted' entries alone need none (a lost one leaves a file no
   * head names, which the next compaction deletes again), so a compaction deleting many files syncs once.
   */
  syncWrites(): void
  /** Seals the current log into a segment (see above). Always durable: it is rare and costs a few fsyncs. */
  seal(): void
  /** The last user of this process seals the log: the next open reads indexes and `records/`, no log. */
  release(): void
}

/**
 * A newest segment smaller than this is merged into the next one when the log is sealed (its live files are
 * appended to the log first): each close seals the log, and small sessions would otherwise leave a trail of
 * small segments. The copy is bounded by this size.
 */
export const SMALL_SEGMENT_BYTES = 1024 * 1024
/**
 * The most bytes read and written back at once when a seal blanks record entries. Small enough to come from
 * memory already in use: a fresh 1 MiB buffer's first touch took 4–20 ms on this project's VMs.
 */
const BLANKING_WINDOW_BYTES = 64 * 1024

/** A segment whose live files fill less than this share of it is rewritten (live files appended to the log). */
const SPARSE_SEGMENT = 0.25

interface Place {
  /** The segment number, or ACTIVE for the current log. */
  segment: number
  offset: number
  length: number
}

const ACTIVE = -1

interface Segment {
  fd: number
  size: number
}

interface State {
  fd: number | undefined
  /** The log file was created since the folder holding it was last fsync'd. */
  fresh: boolean
  /** Entries were appended since the last fdatasync. */
  dirty: boolean
  /** Files or record changes (not only 'file deleted' entries) were appended since the last fdatasync. */
  unsyncedWrites: boolean
  /** Bytes of the log, including `pending`. */
  size: number
  /**
   * Encoded file entries not written yet, from offset `pendingFrom`: they go to the kernel with the next
   * record change or deletion in one write (a transaction's file and head record: one write, not two), or
   * before anything reads them, syncs or seals. Storage.writeFile allows it: a file is durable at the latest
   * when the next record change resolves, and nothing is acknowledged before its record change.
   */
  pending: Uint8Array[]
  pendingFrom: number
  files: Map<string, Place>
  records: Map<string, Uint8Array | null>
  /** Where the current log's record entries start, to blank their bodies when it is sealed. */
  recordEntries: { start: number; name: string; length: number }[]
  segments: Map<number, Segment>
  /** Segments the current log deleted files of: their indexes are rewritten when it is sealed. */
  touched: Set<number>
  deletedBytes: number
  users: number
}

const open = new Map<string, { log: WriteLog; state: State }>()

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let offset = 0
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset, position + offset)
}

/** One writev for the buffers (no concatenated copy); a short write finishes with writeAll. */
function writeAllGathered(fd: number, buffers: Uint8Array[], position: number): void {
  if (buffers.length === 1) return writeAll(fd, buffers[0]!, position)
  // writev takes at most IOV_MAX (1024 on Linux) buffers.
  if (buffers.length > 256) return writeAll(fd, Buffer.concat(buffers), position)
  const total = buffers.reduce((sum, bytes) => sum + bytes.length, 0)
  const written = writevSync(fd, buffers, position)
  if (written < total) writeAll(fd, Buffer.concat(buffers).subarray(written), position + written)
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Temp file, fsync, rename: the target holds the old bytes or the new ones after any crash. */
function replaceDurably(target: string, bytes: Uint8Array): void {
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(temp, 'w')
  try {
    writeAll(fd, bytes, 0)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(temp, target)
}

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

export function joinWriteLog(root: string, location: string): WriteLog {
  const known = open.get(root)
  if (known) {
    known.state.users++
    return known.log
  }
  const path = join(root, 'log')
  const filesDir = join(root, 'files')
  const recordsDir = join(root, 'records')
  const segmentsDir = join(root, 'segments')
  const segmentLog = (n: number) => join(segmentsDir, `${n}.log`)
  const segmentIndex = (n: number) => join(segmentsDir, `${n}.index`)
  const state: State = {
    fd: undefined,
    fresh: false,
    dirty: false,
    unsyncedWrites: false,
    size: 0,
    pending: [],
    pendingFrom: 0,
    files: new Map(),
    records: new Map(),
    recordEntries: [],
    segments: new Map(),
    touched: new Set(),
    deletedBytes: 0,
    users: 1,
  }

  function readAt(fd: number, offset: number, length: number): Uint8Array | undefined {
    const bytes = new Uint8Array(length)
    return readInto(fd, bytes, offset) ? bytes : undefined
  }

  /** Fills `bytes` from `offset`; false when the file ends first. */
  function readInto(fd: number, bytes: Uint8Array, offset: number): boolean {
    let done = 0
    while (done < bytes.length) {
      const read = readSync(fd, bytes, done, bytes.length - done, offset + done)
      if (read === 0) return false
      done += read
    }
    return true
  }

  /**
   * Overwrites each record entry with the same entry, its body zeroed. Entries close together are patched in
   * one read and one write of the bytes around them (the file entries between are written back unchanged):
   * one write per entry was ~80 ms of the put that sealed a log of ~7 500 single puts. One window buffer serves
   * every read: a buffer per window (and an encoded blank per entry) was 1.3 MB of garbage at the close after
   * 1 000 single puts, most of what closing added to the process's peak RSS.
   */
  function blankRecordEntries(fd: number, entries: readonly { start: number; name: string; length: number }[]): void {
    let window: Uint8Array | undefined
    let i = 0
    while (i < entries.length) {
      const from = entries[i]!.start
      let end = from + writeLogEntryLength(entries[i]!.name, entries[i]!.length)
      let last = i + 1
      for (; last < entries.length; last++) {
        const { start, name, length } = entries[last]!
        const entryEnd = start + writeLogEntryLength(name, length)
        if (entryEnd - from > BLANKING_WINDOW_BYTES) break
        end = entryEnd
      }
      // An entry larger than the window (a record of more than 64 KiB) is read alone, into a buffer of its own.
      const bytes = end - from <= BLANKING_WINDOW_BYTES ? (window ??= new Uint8Array(BLANKING_WINDOW_BYTES)).subarray(0, end - from) : new Uint8Array(end - from)
      if (!readInto(fd, bytes, from)) {
        // The log is shorter than its entries (never after the sync before a seal): each blank is written whole.
        for (; i < last; i++) {
          const { start, name, length } = entries[i]!
          writeAll(fd, encodeWriteLogEntry({ kind: 'record', name, body: new Uint8Array(length) }), start)
        }
        continue
      }
      for (; i < last; i++) blankRecordEntryAt(bytes, entries[i]!.start - from)
      writeAll(fd, bytes, from)
    }
  }

  function flush(): void {
    if (state.pending.length === 0) return
    const buffers = state.pending
    state.pending = []
    try {
      writeAllGathered(state.fd!, buffers, state.pendingFrom)
    } catch (error) {
      // A write that failed (disk full, an I/O error) leaves them pending, written again from the same offset
      // by the next flush: bytes of them that reached the file are overwritten then, or are a torn tail that
      // recovery drops. Going on past them left a hole that recovery stopped at, and every write acknowledged
      // after it was lost at the next crash (storage-write-failure.test).
      state.pending = buffers
      throw error
    }
  }

  function bytesAt(place: Place): Uint8Array | undefined {
    if (place.segment === ACTIVE && place.offset >= state.pendingFrom) flush()
    const fd = place.segment === ACTIVE ? state.fd : state.segments.get(place.segment)?.fd
    return fd === undefined ? undefined : readAt(fd, place.offset, place.length)
  }

  /** The live files of each segment (ACTIVE: the current log), in one pass over the files. */
  function liveBySegment(): Map<number, SegmentIndexEntry[]> {
    const live = new Map<number, SegmentIndexEntry[]>()
    for (const [name, { segment, offset, length }] of state.files) {
      let entries = live.get(segment)
      if (!entries) live.set(segment, (entries = []))
      entries.push({ name, offset, length })
    }
    return live
  }

  function removeSegment(n: number): void {
    const segment = state.segments.get(n)
    if (segment) closeSync(segment.fd)
    state.segments.delete(n)
    // The segment before its index: an index left alone is deleted at open, a segment alone would be scanned.
    unlinkIfThere(segmentLog(n))
    unlinkIfThere(segmentIndex(n))
  }

  function removeSegments(dropped: ReadonlySet<number>): void {
    for (const n of dropped) removeSegment(n)
    if (dropped.size > 0) fsyncDir(segmentsDir)
  }

  /** The current log is sealed or gone: the next append starts a new one. */
  function endActiveLog(): void {
    state.fd = undefined
    state.size = 0
    state.dirty = false
    state.unsyncedWrites = false
    state.records.clear()
    state.recordEntries = []
    state.touched.clear()
    state.deletedBytes = 0
  }

  const log: WriteLog = {
    path,
    hasFile: (cid) => state.files.has(cid),
    readFile(cid) {
      const place = state.files.get(cid)
      return place && bytesAt(place)
    },
    readRecord: (name) => state.records.get(name),
    fileNames: () => [...state.files.keys()],
    fileSize: (cid) => state.files.get(cid)?.length,
    recordNames: () => new Map([...state.records].map(([name, bytes]) => [name, bytes !== null])),
    size: () => state.size,
    deletedBytes: () => state.deletedBytes,
    append(entry) {
      if (state.fd === undefined) {
        const fd = openSync(path, 'w+')
        try {
          writeAll(fd, WRITE_LOG_HEADER, 0)
        } catch (error) {
          closeSync(fd)
          throw error
        }
        state.fd = fd
        state.fresh = true
        state.size = WRITE_LOG_HEADER.length
      }
      const bytes = encodeWriteLogEntry(entry)
      if (state.pending.length === 0) state.pendingFrom = state.size
      state.pending.push(bytes)
      if (entry.kind !== 'file') {
        try {
          flush()
        } catch (error) {
          // The change is not made and its caller is told: its entry is dropped, never written later (a head
          // record a rejected put wrote must not come back after a reopen). File entries before it stay pending.
          state.pending.pop()
          throw error
        }
      }
      const bodyOffset = state.size + bytes.length - 4 - ('body' in entry ? entry.body.length : 0)
      if (entry.kind === 'record') state.recordEntries.push({ start: state.size, name: entry.name, length: entry.body.length })
      state.size += bytes.length
      state.dirty = true
      if (entry.kind !== 'file-deleted') state.unsyncedWrites = true
      if (entry.kind === 'file') state.files.set(entry.name, { segment: ACTIVE, offset: bodyOffset, length: entry.body.length })
      else if (entry.kind === 'file-deleted') state.files.delete(entry.name)
      else state.records.set(entry.name, entry.kind === 'record' ? entry.body.slice() : null)
    },
    flush,
    deleteFile(cid) {
      const place = state.files.get(cid)
      if (!place) return
      if (place.segment !== ACTIVE) state.touched.add(place.segment)
      state.deletedBytes += place.length
      log.append({ kind: 'file-deleted', name: cid })
    },
    syncWrites() {
      if (state.unsyncedWrites) log.sync()
    },
    sync() {
      if (state.fd === undefined || !state.dirty) return
      flush()
      fdatasyncSync(state.fd)
      state.dirty = false
      state.unsyncedWrites = false
      if (state.fresh) {
        fsyncDir(root)
        state.fresh = false
      }
    },
    seal() {
      // Nothing appended to a log that was opened empty (the header a close leaves): nothing to seal.
      if (state.fd === undefined || (state.size <= WRITE_LOG_HEADER.length && state.touched.size === 0)) return
      // Mostly dead segments, and a small newest one: their live files move into this log, so they can go once
      // it is sealed.
      const dropped = new Set<number>()
      const newest = Math.max(0, ...state.segments.keys())
      const before = liveBySegment()
      for (const [n, segment] of state.segments) {
        const live = before.get(n) ?? []
        const liveBytes = live.reduce((sum, { length }) => sum + length, 0)
        const small = n === newest && segment.size < SMALL_SEGMENT_BYTES
        if (!small && liveBytes >= segment.size * SPARSE_SEGMENT) continue
        for (const { name, offset, length } of live) {
          const bytes = readAt(segment.fd, offset, length)
          if (bytes && hashesTo(name, bytes)) log.append({ kind: 'file', name, body: bytes })
          else state.files.delete(name)
        }
        dropped.add(n)
      }
      log.sync()
      for (const [name, bytes] of state.records) {
        if (bytes) replaceDurably(join(recordsDir, name), bytes)
        else unlinkIfThere(join(recordsDir, name))
      }
      fsyncDir(recordsDir)
      const after = liveBySegment()
      for (const n of state.touched) {
        if (dropped.has(n) || !state.segments.has(n)) continue
        const live = after.get(n) ?? []
        if (live.length === 0) dropped.add(n)
        else replaceDurably(segmentIndex(n), encodeSegmentIndex(live))
      }
      const sealed = after.get(ACTIVE) ?? []
      if (sealed.length === 0) {
        const fd = state.fd
        endActiveLog()
        closeSync(fd)
        unlinkSync(path)
        fsyncDir(root)
        removeSegments(dropped)
        return
      }
      const n = Math.max(0, ...state.segments.keys()) + 1
      replaceDurably(segmentIndex(n), encodeSegmentIndex(sealed))
      fsyncDir(segmentsDir)
      renameSync(path, segmentLog(n))
      // The rename is the seal's commit point: from here the log is segment n, whatever fails after it, and the
      // writes that follow go to a new log. Going on into the renamed file put them past its index: lost at the
      // next open (storage-seal-failure.test).
      const fd = state.fd
      const recordEntries = state.recordEntries
      state.segments.set(n, { fd, size: state.size })
      for (const { name } of sealed) state.files.get(name)!.segment = n
      endActiveLog()
      fsyncDir(segmentsDir)
      fsyncDir(root)
      // Only once the rename is durable: the files these segments held live in segment n now.
      removeSegments(dropped)
      // A segment keeps files only: now that it is one (a log is replayed, a segment's records never are),
      // the record entries' bodies (the keybag's key among them) are blanked, as whole entries with their CRC.
      blankRecordEntries(fd, recordEntries)
    },
    release() {
      if (--state.users > 0) return
      open.delete(root)
      try {
        log.seal()
        // A closed directory with segments keeps an empty log, whose header tells earlier versions (which read
        // files/ only) that they cannot read it: FormatVersionError rather than files they cannot find.
        if (state.fd === undefined && state.segments.size > 0) {
          replaceDurably(path, WRITE_LOG_HEADER)
          fsyncDir(root)
        }
      } finally {
        if (state.fd !== undefined) closeSync(state.fd)
        for (const { fd } of state.segments.values()) closeSync(fd)
      }
    },
  }

  mkdirSync(segmentsDir, { recursive: true })
  try {
    openSegments(segmentsDir, `The write log of ${JSON.stringify(location)}`, state)
    recover(path, `The write log of ${JSON.stringify(location)}`, state, { filesDir, recordsDir, root })
  } catch (error) {
    for (const { fd } of state.segments.values()) closeSync(fd)
    if (state.fd !== undefined) closeSync(state.fd)
    throw error
  }
  open.set(root, { log, state })
  return log
}

/**
 * Reads each sealed segment's index (or, when the index is missing or damaged, the segment itself, checking
 * every file against its CID). An index without its segment is what a crash during sealing left: deleted.
 */
function openSegments(dir: string, where: string, state: State, tidy = true): void {
  const names = readdirIfThere(dir)
  const numbers = (suffix: string) => names.filter((name) => isNumbered(name, suffix)).map((name) => Number(name.slice(0, -suffix.length)))
  const logs = new Set(numbers('.log'))
  if (tidy) {
    for (const n of numbers('.index')) if (!logs.has(n)) unlinkSync(join(dir, `${n}.index`))
    for (const name of names) if (name.endsWith('.tmp')) unlinkSync(join(dir, name))
  }
  const indexes = new Set(numbers('.index'))
  for (const n of [...logs].sort((a, b) => a - b)) {
    const fd = openSync(join(dir, `${n}.log`), 'r')
    const size = fstatSync(fd).size
    state.segments.set(n, { fd, size })
    let entries: SegmentIndexEntry[] | undefined
    // Listed just now: a segment's index is only deleted with the segment, under the directory lock.
    if (indexes.has(n)) {
      try {
        entries = decodeSegmentIndex(readFileSync(join(dir, `${n}.index`)), `${where}: the index of segment ${n}`)
      } catch (error) {
        if ((error as Error).name !== 'CorruptRecordError') throw error
      }
    }
    if (entries) {
      for (const { name, offset, length } of entries) state.files.set(name, { segment: n, offset, length })
      continue
    }
    const { entries: logged } = decodeWriteLog(readFileSync(join(dir, `${n}.log`)), `${where}: segment ${n}`)
    for (const { entry, bodyOffset } of logged) {
      if (entry.kind === 'file' && hashesTo(entry.name, entry.body)) state.files.set(entry.name, { segment: n, offset: bodyOffset, length: entry.body.length })
      else if (entry.kind === 'file-deleted' && state.files.get(entry.name)?.segment === n) state.files.delete(entry.name)
    }
  }
}

function readdirIfThere(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/** `<digits><suffix>`, checked by hand: a regular expression is compiled on first use, which a cold open pays. */
function isNumbered(name: string, suffix: string): boolean {
  if (!name.endsWith(suffix) || name.length === suffix.length) return false
  for (let i = 0; i < name.length - suffix.length; i++) {
    const code = name.charCodeAt(i)
    if (code < 48 || code > 57) return false
  }
  return true
}

/**
 * Where each live file of the log and its segments lies (the log or segment file, the offset and length of its
 * bytes), for inspection (tests, tools): from the open log when this process has the directory open, else read
 * from disk without changing anything.
 */
export function loggedFilePlaces(root: string): Map<string, { path: string; offset: number; length: number }> {
  const known = open.get(root)
  known?.log.flush()
  const state: State = known?.state ?? { fd: undefined, fresh: false, dirty: false, unsyncedWrites: false, size: 0, pending: [], pendingFrom: 0, files: new Map(), records: new Map(), recordEntries: [], segments: new Map(), touched: new Set(), deletedBytes: 0, users: 0 }
  const segmentsDir = join(root, 'segments')
  const path = join(root, 'log')
  if (!known) {
    try {
      openSegments(segmentsDir, root, state, false)
    } finally {
      for (const { fd } of state.segments.values()) closeSync(fd)
    }
    const { entries, version } = decodeWriteLog(existsSync(path) ? new Uint8Array(readFileSync(path)) : new Uint8Array(0), root)
    for (const { entry, bodyOffset } of entries) {
      if (entry.kind === 'file' && (version < 2 || hashesTo(entry.name, entry.body))) state.files.set(entry.name, { segment: ACTIVE, offset: bodyOffset, length: entry.body.length })
      else if (entry.kind === 'file-deleted') state.files.delete(entry.name)
    }
  }
  const places = new Map<string, { path: string; offset: number; length: number }>()
  for (const [name, { segment, offset, length }] of state.files) {
    places.set(name, { path: segment === ACTIVE ? path : join(segmentsDir, `${segment}.log`), offset, length })
  }
  return places
}

/** The live files of the log and its segments with their bytes (see loggedFilePlaces). */
export function loggedFiles(root: string): Map<string, Uint8Array> {
  const result = new Map<string, Uint8Array>()
  const contents = new Map<string, Uint8Array>()
  for (const [name, { path, offset, length }] of loggedFilePlaces(root)) {
    let bytes = contents.get(path)
    if (!bytes) contents.set(path, (bytes = new Uint8Array(readFileSync(path))))
    result.set(name, bytes.slice(offset, offset + length))
  }
  return result
}

/**
 * Reads the log a crash (or a close) left behind. Version 2: its whole entries are replayed (a file entry
 * that does not hash to its name is skipped), it is cut back to its last whole entry, and appends continue
 * after it. Version 1 (earlier versions): moved into `files/` and `records/`, fsync'd, and deleted.
 */
function recover(path: string, where: string, state: State, dirs: { filesDir: string; recordsDir: string; root: string }): void {
  // Opened once, for reading it and appending after it (a version 2 log), rather than checked, read and opened.
  let fd: number
  try {
    fd = openSync(path, 'r+')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  let bytes: Uint8Array
  let decoded: ReturnType<typeof decodeWriteLog>
  try {
    bytes = readAll(fd)
    decoded = decodeWriteLog(bytes, where)
  } catch (error) {
    closeSync(fd)
    throw error
  }
  const { entries, validLength, version } = decoded
  if (version === 2 && validLength >= WRITE_LOG_HEADER.length) state.fd = fd
  else closeSync(fd)
  if (version === 2) {
    if (validLength < WRITE_LOG_HEADER.length) {
      unlinkSync(path)
      return
    }
    for (const { entry, bodyOffset } of entries) {
      if (entry.kind === 'file') {
        if (hashesTo(entry.name, entry.body)) state.files.set(entry.name, { segment: ACTIVE, offset: bodyOffset, length: entry.body.length })
      } else if (entry.kind === 'file-deleted') {
        const place = state.files.get(entry.name)
        if (place && place.segment !== ACTIVE) state.touched.add(place.segment)
        state.files.delete(entry.name)
      } else {
        state.records.set(entry.name, entry.kind === 'record' ? entry.body.slice() : null)
        if (entry.kind === 'record') state.recordEntries.push({ start: bodyOffset - 7 - Buffer.byteLength(entry.name), name: entry.name, length: entry.body.length })
      }
    }
    if (validLength < bytes.length) ftruncateSync(fd, validLength)
    state.size = validLength
    return
  }
  // Version 1, or a log cut off inside its header (holds nothing): move it out the way its version did.
  const records = new Map<string, Uint8Array | null>()
  for (const { entry } of entries) {
    if (entry.kind === 'file') {
      // A file entry must hash to its name, as every stored file must; one that does not is skipped.
      if (hashesTo(entry.name, entry.body)) replaceDurably(join(dirs.filesDir, entry.name), entry.body)
    } else records.set(entry.name, entry.kind === 'record' ? entry.body : null)
  }
  for (const [name, body] of records) {
    if (body) replaceDurably(join(dirs.recordsDir, name), body)
    else unlinkIfThere(join(dirs.recordsDir, name))
  }
  fsyncDir(dirs.filesDir)
  fsyncDir(dirs.recordsDir)
  unlinkSync(path)
  fsyncDir(dirs.root)
}

function readAll(fd: number): Uint8Array {
  const bytes = new Uint8Array(fstatSync(fd).size)
  let done = 0
  while (done < bytes.length) {
    const read = readSync(fd, bytes, done, bytes.length - done, done)
    if (read === 0) return bytes.subarray(0, done)
    done += read
  }
  return bytes
}

export function hashesTo(name: string, body: Uint8Array): boolean {
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
