import type { Block } from './block.js'
import { verifyBlock, type RawBlock } from '../format/file.js'

interface Cached {
  /** Verified and decoded, once read. */
  block?: Block
  /** As read from its file, until first read. */
  raw?: RawBlock
  file: string
  size: number
}

/**
 * The blocks of stored files held in memory, least recently used first out once their bytes pass `budget`:
 * a database larger than memory is read through it (a scan, an index build) without keeping what it read.
 * Every block here is in a file, so an evicted one is read again from there; `onEvict` is told the file, which
 * must then be opened again for it. Blocks no file holds yet (unsaved, derived) are kept by the store, not here.
 */
export class BlockCache {
  readonly #entries = new Map<string, Cached>()
  #bytes = 0

  constructor(
    readonly budget: number,
    private readonly onEvict: (file: string) => void,
  ) {}

  has(key: string): boolean {
    return this.#entries.has(key)
  }

  /** The block, verified against its CID and decoded on its first read (an IntegrityError names the file). */
  async read(key: string): Promise<Block | undefined> {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    if (entry.block) return entry.block
    const verified = await verifyBlock(entry.raw!, entry.file)
    // Its own bytes: a view into the file's plaintext would keep the whole file alive after the rest is evicted.
    const block: Block = { cid: verified.cid, bytes: verified.bytes.slice(), value: verified.value }
    if (this.#entries.get(key) === entry) {
      entry.block = block
      entry.raw = undefined
    }
    return block
  }

  /** Adds a block of a file being opened; `trim()` once the whole file is in (its blocks outlive older ones). */
  addRaw(key: string, raw: RawBlock, file: string): void {
    if (this.#entries.has(key)) return
    this.#entries.set(key, { raw, file, size: raw.bytes.length })
    this.#bytes += raw.bytes.length
  }

  addBlock(key: string, block: Block, file: string): void {
    const entry = this.#entries.get(key)
    if (entry) {
      entry.block = block
      entry.raw = undefined
      entry.file = file
      return
    }
    this.#add(key, { block, file, size: block.bytes.length })
  }

  #add(key: string, entry: Cached): void {
    this.#entries.set(key, entry)
    this.#bytes += entry.size
    this.trim(entry.file)
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
      this.onEvict(evicted.file)
    }
  }

}
