import { decodeBlock, type Block, type CID } from './block.js'
import { undecodedBlock } from '../format/block.js'
import { verifyBlock, verifyBytes, type RawBlock } from '../format/file.js'

interface Cached {
  /** Verified and decoded, while among the most recently decoded (see `BlockCache`). */
  block?: Block
  /** As read from its file, until first read (not verified yet). */
  raw?: RawBlock
  /** Verified bytes whose decoded value was dropped: the next read decodes them again, without hashing. */
  verified?: { cid: CID; bytes: Uint8Array }
  file: string
  size: number
}

/**
 * The blocks of stored files held in memory, least recently used first out once their bytes pass `budget`:
 * a database larger than memory is read through it (a scan, an index build) without keeping what it read.
 * Every block here is in a file, so an evicted one is read again from there; `onEvict` is told the file, which
 * must then be opened again for it. Blocks no file holds yet (unsaved, derived) are kept by the store, not here.
 *
 * Decoded values cost several times their bytes as objects (a leaf of short documents ~5x; @ipld/dag-cbor,
 * still the fallback decoder, builds a string of 13-31 ASCII characters as a chain of one-character
 * concatenations, ~400 bytes for 25 characters), so only the most recently decoded blocks, up to `decodedBudget` of their bytes, keep their value;
 * older ones keep their verified bytes and are decoded again when read (a leaf: tens of microseconds, where
 * reading its file again decrypts and hashes the whole file). Blocks a commit wrote enter decoded (the objects
 * the writer made) and leave that tier like any other: a bulk load writes leaves it never reads again.
 */
export class BlockCache {
  readonly #entries = new Map<string, Cached>()
  /** Keys of the entries holding a decoded value, least recently used first. */
  readonly #decoded = new Set<string>()
  #bytes = 0
  #decodedBytes = 0

  constructor(
    readonly budget: number,
    private readonly onEvict: (file: string) => void,
    readonly decodedBudget = Math.ceil(budget * DECODED_SHARE),
  ) {}

  has(key: string): boolean {
    return this.#entries.has(key)
  }

  /** What the cache holds now: blocks, their bytes, and the bytes of those whose decoded value it keeps. */
  stats(): { blocks: number; bytes: number; decoded: number; decodedBytes: number } {
    return { blocks: this.#entries.size, bytes: this.#bytes, decoded: this.#decoded.size, decodedBytes: this.#decodedBytes }
  }

  /** The block when it is held decoded (marked as just used), without waiting; `read` otherwise. */
  peek(key: string): Block | undefined {
    const entry = this.#entries.get(key)
    if (!entry?.block) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    this.#decoded.delete(key)
    this.#decoded.add(key)
    return entry.block
  }

  /** The block, verified against its CID and decoded on its first read (an IntegrityError names the file). */
  async read(key: string): Promise<Block | undefined> {
    const held = this.peek(key)
    if (held) return held
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    let block: Block
    if (entry.verified) {
      block = decodeBlock(entry.verified.cid, entry.verified.bytes)
    } else {
      block = await verifyBlock(entry.raw!, entry.file)
    }
    if (this.#entries.get(key) === entry && !entry.block) this.#keepDecoded(key, entry, block)
    return entry.block ?? block
  }

  /**
   * The block, verified against its CID, without decoding it or moving it to the decoded tier (its value is
   * decoded if read): for a reader that wants its bytes (a compaction). Marked as just used.
   */
  async readUndecoded(key: string): Promise<Block | undefined> {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    if (entry.block) return entry.block
    const verified = entry.verified ?? (await verifyBytes(entry.raw!, entry.file))
    // A read while the hash ran may have decoded it: that block stands.
    if (entry.block) return entry.block
    if (!entry.verified) {
      entry.verified = verified
      entry.raw = undefined
    }
    return undecodedBlock(verified.cid, verified.bytes)
  }

  /**
   * Adds a block of a file being opened; `trim()` once the whole file is in (its blocks outlive older ones).
   * Its bytes are copied: a view into the file's plaintext kept the whole file alive while any of its blocks
   * was cached unread (a 256 KiB compaction file for one 4 KiB block, ~40 % of the cache's buffers
   * uncounted in a 500k-document bulk load).
   */
  addRaw(key: string, raw: RawBlock, file: string): void {
    if (this.#entries.has(key)) return
    const size = raw.bytes.length + ENTRY_BYTES
    this.#entries.set(key, { raw: { cid: raw.cid, bytes: raw.bytes.slice() }, file, size })
    this.#bytes += size
  }

  /** Adds a verified block (written by a commit, or made here and found in a file read). */
  addBlock(key: string, block: Block, file: string): void {
    const entry = this.#entries.get(key)
    if (entry) {
      entry.file = file
      if (!entry.block) this.#keepDecoded(key, entry, block)
      return
    }
    const added: Cached = { file, size: block.bytes.length + ENTRY_BYTES }
    this.#entries.set(key, added)
    this.#bytes += added.size
    this.#keepDecoded(key, added, block)
    this.trim(file)
  }

  #keepDecoded(key: string, entry: Cached, block: Block): void {
    entry.block = block
    entry.raw = undefined
    entry.verified = undefined
    this.#decoded.add(key)
    this.#decodedBytes += entry.size
    if (this.#decodedBytes <= this.decodedBudget) return
    for (const oldest of this.#decoded) {
      if (this.#decodedBytes <= this.decodedBudget || oldest === key) break
      const older = this.#entries.get(oldest)!
      this.#dropDecoded(oldest, older)
    }
  }

  #dropDecoded(key: string, entry: Cached): void {
    const { cid, bytes } = entry.block!
    entry.verified = { cid, bytes }
    entry.block = undefined
    this.#decoded.delete(key)
    this.#decodedBytes -= entry.size
  }

  /**
   * Evicts the least recently used blocks until the bytes are well under the budget, never those of
   * `keepFile` (the file just opened: its reader takes its block next, even when the file alone exceeds the
   * budget; the next trim evicts them).
   */
  trim(keepFile?: string): void {
    if (this.#bytes <= this.budget) return
    for (const [oldest, evicted] of this.#entries) {
      if (this.#bytes <= this.budget * 0.75) break
      if (evicted.file === keepFile) continue
      this.#entries.delete(oldest)
      this.#bytes -= evicted.size
      if (evicted.block) {
        this.#decoded.delete(oldest)
        this.#decodedBytes -= evicted.size
      }
      this.onEvict(evicted.file)
    }
  }
}

/**
 * What an entry costs besides its block's bytes, counted against the budget: its key (a CID string), its CID,
 * the typed array and buffer objects over its bytes, the entry and its slots in the maps: 400-600 B in a heap
 * snapshot of a long run of single puts. Counting bytes alone, a cache of small blocks (the events of single
 * puts, ~300 B each) took about three times `cacheBytes` (180k puts to 1 000 docs: live heap 142 -> 114 MB,
 * RSS 510 -> 458 MB, and 44 -> 33 s with less to collect).
 */
const ENTRY_BYTES = 400

/** Share of the cache's bytes whose blocks also keep their decoded value (see `BlockCache`). */
const DECODED_SHARE = 1 / 4
