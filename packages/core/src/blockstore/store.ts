import { open, seal, sealNow } from '../crypto/envelope.js'
import type { DatabaseKey } from '../crypto/key.js'
import { KeyRing } from '../crypto/key-epochs.js'
import type { Storage, SynchronousWrites } from '../storage/api.js'
import { CID, type Block } from './block.js'
import { FILE_VERSION, decodeCar, encodeCar, encodeCarNow, fileCid, fileCidNow, verifyBlock, verifyFile, type FileHeader, type RawBlock } from '../format/file.js'
import { BlockCache } from './block-cache.js'

/** Somewhere else a stored file may be found (a connector); `undefined` when it is not there. */
export type FileSource = (cid: string) => Promise<Uint8Array | undefined>

export class MissingBlockError extends Error {
  override readonly name = 'MissingBlockError'
  constructor(
    readonly cid: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Block ${cid} cannot be found: ${detail}`, options)
  }
}

interface Pending {
  block: Block
  links: CID[]
}

/**
 * Blocks by CID. Each transaction's new blocks become one encrypted CAR file; older files are opened only
 * when a block that lives there is asked for (lazy loading), found through the locations that every file
 * header carries for the links leaving it.
 */
export class BlockStore {
  /** Blocks of stored files (verified and decoded on first use), within a byte budget. */
  readonly #cache: BlockCache
  /**
   * Files known to hold each block, most trusted first: a block may live in several files (rewritten by a
   * compaction, or written again by a merge on another replica), and any copy will do. Reads try each in
   * turn, so a file deleted locally and never uploaded only costs a fall back to an older copy. A block in one
   * file (most of them) keeps the file's name alone: an array per block was ~60 B of a long-running writer's
   * memory for every block it ever wrote (see `filesOf`).
   */
  readonly #locations = new Map<string, string | string[]>()
  /** Blocks made in memory (by merges) that no file holds yet: the next commit that links them writes them. */
  readonly #unsaved = new Map<string, Pending>()
  /** Files being read, each with its blocks as read (see `#load`). */
  readonly #loading = new Map<string, Promise<Map<string, RawBlock>>>()
  readonly #loaded = new Set<string>()
  readonly #sources = new Set<FileSource>()
  readonly #onFile = new Set<(cid: string, bytes: number) => void>()
  readonly #onCommit = new Set<(file: string, bytes: number) => void>()
  /** The files each recent file's header names (REFERENCES_KEPT of them; `fileReferences` reads older ones again). */
  readonly #references = new Map<string, string[]>()
  readonly #onRead = new Set<(file: string, references: string[]) => void>()
  /**
   * Tree nodes derived from delta events (clock/root.ts), a subset of `#unsaved`: the next checkpoint writes
   * the ones its tree reaches, `sweepDerived` drops the others once no live or pinned root reaches them.
   */
  readonly #derived = new Set<string>()
  /** The tree root after each recent event, as derived or committed (a cache: derivation can repeat it). */
  readonly #eventRoots = new Map<string, CID>()
  /** Block locations to read when a block is not where known headers say (see `deferLocations`). */
  #deferred: (() => Promise<[string, string][]>) | undefined
  #relocations = 0
  /** Roots a reader is walking now (see `pin`), with a count per root. */
  readonly #pins = new Map<string, { root: CID; count: number }>()

  constructor(
    readonly storage: Storage,
    readonly key: DatabaseKey,
    readonly database: string,
    cacheBytes = DEFAULT_CACHE_BYTES,
  ) {
    // A file with an evicted block must be read again to serve it.
    this.#cache = new BlockCache(cacheBytes, (file) => this.#loaded.delete(file))
  }

  addSource(source: FileSource): () => void {
    this.#sources.add(source)
    return () => this.#sources.delete(source)
  }

  /** Called with every file this store reads (from storage or a source) and the files its header names. */
  onFileRead(listener: (file: string, references: string[]) => void): () => void {
    this.#onRead.add(listener)
    return () => this.#onRead.delete(listener)
  }

  /** Called with the CID and size of every file this store writes. */
  onFileWritten(listener: (cid: string, bytes: number) => void): () => void {
    this.#onFile.add(listener)
    return () => this.#onFile.delete(listener)
  }

  /**
   * Records a file that holds a block (the meta names the files of the head events, file headers name the
   * files of blocks they link to). Earlier records stay preferred; this one is a fallback.
   */
  locate(cid: CID | string, file: string): void {
    const key = cid.toString()
    const files = this.#locations.get(key)
    if (files === undefined) this.#locations.set(key, file)
    else if (typeof files === 'string') {
      if (files !== file) this.#locations.set(key, [files, file])
    } else if (!files.includes(file)) files.push(file)
  }

  /** Records a file known to hold a block as its preferred location (a file read or written by this store). */
  /**
   * The CIDs of the files written or named last, by name: each new file's header names the file before it,
   * and parsing that name again was ~4 % of a single put's CPU.
   */
  readonly #fileCids = new Map<string, CID>()

  #rememberReferences(file: string, references: string[]): void {
    this.#references.delete(file)
    this.#references.set(file, references)
    if (this.#references.size > REFERENCES_KEPT) this.#references.delete(this.#references.keys().next().value!)
  }

  #noteFileCid(file: string, cid: CID): void {
    this.#fileCids.delete(file)
    this.#fileCids.set(file, cid)
    if (this.#fileCids.size > FILE_CIDS_KEPT) this.#fileCids.delete(this.#fileCids.keys().next().value!)
  }

  #fileCid(file: string): CID {
    const known = this.#fileCids.get(file)
    if (known) return known
    const cid = CID.parse(file)
    this.#noteFileCid(file, cid)
    return cid
  }

  #place(key: string, file: string): void {
    const files = this.#locations.get(key)
    if (files === undefined || typeof files === 'string') {
      this.#locations.set(key, files === undefined || files === file ? file : [file, files])
    } else if (files[0] !== file) {
      const at = files.indexOf(file)
      if (at > 0) files.splice(at, 1)
      files.unshift(file)
    }
  }

  /**
   * Locations (block, file) that take precedence over what headers say, read only when first needed: when a
   * block cannot be read from the files known to hold it, or a file is not stored locally. The last
   * compaction's record (compact.ts): it relocates blocks that older headers place in files it deleted.
   */
  deferLocations(load: (() => Promise<[string, string][]>) | undefined): void {
    this.#deferred = load
  }

  /**
   * Applies the deferred locations, if any are pending; true when it did (a read may try again). A load that
   * failed (a corrupt compaction record) fails every read that needs it with that error, which names the
   * record, rather than with the MissingBlockError its retry would meet.
   */
  async #applyDeferred(): Promise<boolean> {
    if (this.#deferredFailure !== undefined) throw this.#deferredFailure
    const load = this.#deferred
    if (!load) return false
    this.#deferred = undefined
    this.#relocations++
    let located: [string, string][]
    try {
      located = await load()
    } catch (error) {
      this.#deferredFailure = error
      throw error
    }
    for (const [key, file] of located) this.#place(key, file)
    return true
  }

  #deferredFailure: unknown = undefined

  /** The preferred file of a block. */
  locationOf(cid: CID | string): string | undefined {
    return firstOf(this.#locations.get(cid.toString()))
  }

  /** Every file known to hold a block, preferred first. */
  locationsOf(cid: CID | string): readonly string[] {
    return filesOf(this.#locations.get(cid.toString()))
  }

  has(cid: CID): boolean {
    const key = cid.toString()
    return this.#unsaved.has(key) || this.#cache.has(key)
  }

  /**
   * A block by CID. Held decoded (most reads: a tree's upper nodes, a bulk's right edge), it is returned without
   * an async step of its own: ~1.2M reads in a 300k-document bulk load allocated ~0.5 GB of promises and frames.
   */
  peek<T>(cid: CID): Block<T> | undefined {
    const key = cid.toString()
    return (this.#unsaved.get(key)?.block ?? this.#cache.peek(key)) as Block<T> | undefined
  }

  get<T>(cid: CID): Promise<Block<T>> {
    let key: string
    try {
      key = cid.toString()
    } catch (error) {
      return Promise.reject(error)
    }
    const held = this.#unsaved.get(key)?.block ?? this.#cache.peek(key)
    return held ? Promise.resolve(held as Block<T>) : this.#read<T>(key)
  }

  /**
   * A block by CID for its bytes (a compaction copying it): verified, its value decoded only when read. A block
   * not in memory is read from its file as `get` reads it.
   */
  async getUndecoded<T>(cid: CID): Promise<Block<T>> {
    const held = this.peek<T>(cid)
    if (held) return held
    const key = cid.toString()
    return ((await this.#cache.readUndecoded(key)) as Block<T> | undefined) ?? this.#read<T>(key)
  }

  async #read<T>(key: string): Promise<Block<T>> {
    const cached = await this.#cache.read(key)
    if (cached) return cached as Block<T>
    const relocations = this.#relocations
    try {
      return await this.#getFromFiles<T>(key)
    } catch (error) {
      // Not where the known headers say: the last compaction may have moved it (its record is read once,
      // here or by the failed read of a file not stored locally).
      if ((await this.#applyDeferred()) || this.#relocations !== relocations) return this.#getFromFiles<T>(key)
      throw error
    }
  }

  async #getFromFiles<T>(key: string): Promise<Block<T>> {
    const files = filesOf(this.#locations.get(key))
    if (!files.length) throw new MissingBlockError(key, 'no known file holds it')
    // Each known copy in turn: a failure to reach one (deleted locally, absent at every source, a source
    // offline) is remembered and the next copy tried. A transport or integrity failure is reported over a
    // plain absence, so an offline backend reads as offline rather than as lost history.
    let missing: unknown
    let failure: unknown
    for (const file of [...files]) {
      // Twice: a file loaded before may have had the block evicted since, and is then read again.
      for (let attempt = 0; attempt < 2; attempt++) {
        let read: Map<string, RawBlock>
        try {
          read = await this.#load(file)
        } catch (error) {
          // Named by the block wanted, not only the file: what a failure says it lost is the block.
          if (error instanceof MissingBlockError) missing ??= new MissingBlockError(key, `the file ${file} that holds it is stored neither locally nor at any connected source, and no compaction record relocates it`, { cause: error })
          else failure ??= error
          break
        }
        const loaded = this.#unsaved.get(key)?.block ?? (await this.#cache.read(key))
        if (loaded) return loaded as Block<T>
        // Reads of other files meanwhile may have evicted it from the cache (a small cache, many reads at
        // once): it is taken from the bytes this read decrypted, verified as the cache would.
        const raw = read.get(key)
        if (raw) {
          const verified = await verifyBlock<T>(raw, file)
          return { cid: verified.cid, bytes: verified.bytes.slice(), value: verified.value }
        }
        if (read.size > 0 || this.#loaded.has(file)) break
      }
      missing ??= new MissingBlockError(key, `file ${file} does not contain it`)
    }
    throw failure ?? missing
  }

  /** Keeps a block made in memory; it is written by the first commit that links to it. */
  putUnsaved(block: Block, links: CID[]): void {
    const key = block.cid.toString()
    if (this.#unsaved.has(key) || this.#cache.has(key)) return
    this.#unsaved.set(key, { block, links })
  }

  /** Keeps a tree node derived from a delta event (see `#derived`). */
  putDerived(block: Block, links: CID[]): void {
    const key = block.cid.toString()
    if (this.#unsaved.has(key) || this.#cache.has(key)) return
    this.#unsaved.set(key, { block, links })
    this.#derived.add(key)
  }

  /** Notes the tree root after clock event `event`. */
  noteEventRoot(event: CID | string, root: CID): void {
    const key = event.toString()
    this.#eventRoots.delete(key)
    this.#eventRoots.set(key, root)
    if (this.#eventRoots.size > EVENT_ROOTS_KEPT) this.#eventRoots.delete(this.#eventRoots.keys().next().value!)
  }

  /** The tree root after `event` when it is noted and its blocks can still be read (not swept). */
  eventRoot(event: CID | string): CID | undefined {
    const root = this.#eventRoots.get(event.toString())
    return root && (this.has(root) || this.locationOf(root)) ? root : undefined
  }

  /**
   * Keeps the derived nodes under `root` while a reader walks it; call the returned function when done.
   * Readers of the current head need it too: a write that moves the head may sweep the tree they walk.
   */
  pin(root: CID): () => void {
    const key = root.toString()
    const pinned = this.#pins.get(key)
    if (pinned) pinned.count++
    else this.#pins.set(key, { root, count: 1 })
    let released = false
    return () => {
      if (released) return
      released = true
      const entry = this.#pins.get(key)
      if (entry && --entry.count === 0) this.#pins.delete(key)
    }
  }

  /** Runs `read` with `root` pinned (see `pin`). */
  async whilePinned<R>(root: CID, read: () => Promise<R>): Promise<R> {
    const release = this.pin(root)
    try {
      return await read()
    } finally {
      release()
    }
  }

  /**
   * Drops the derived nodes that neither `live` roots nor pinned ones reach: the trees of superseded delta
   * events, which their events can derive again. Called after a checkpoint wrote what the head reaches.
   */
  sweepDerived(live: CID[]): void {
    if (this.#derived.size === 0) return
    const reached = new Set<string>()
    const stack = [...live, ...[...this.#pins.values()].map(({ root }) => root)].map(String)
    while (stack.length) {
      const key = stack.pop()!
      if (reached.has(key) || !this.#derived.has(key)) continue
      reached.add(key)
      for (const link of this.#unsaved.get(key)!.links) stack.push(link.toString())
    }
    for (const key of this.#derived) {
      if (reached.has(key)) continue
      this.#derived.delete(key)
      this.#unsaved.delete(key)
    }
  }


  loadFile(file: string): Promise<void> {
    return this.#load(file).then(() => undefined)
  }

  /** Reads a file unless it is loaded: its blocks as read (none when it was loaded already). */
  #load(file: string): Promise<Map<string, RawBlock>> {
    if (this.#loaded.has(file)) return Promise.resolve(new Map())
    let loading = this.#loading.get(file)
    if (!loading) {
      loading = this.#readFile(file).finally(() => this.#loading.delete(file))
      this.#loading.set(file, loading)
    }
    return loading
  }

  /** The stored bytes of a file, from local storage or a source (verified against the CID). */
  async fileBytes(file: string): Promise<Uint8Array> {
    let bytes = await this.storage.readFile(file)
    // A file a header names is not here: the last compaction may have deleted it (its record says where
    // the blocks went); later reads then prefer those locations.
    if (!bytes) await this.#applyDeferred()
    let localError: unknown
    if (bytes) {
      try {
        await verifyFile(file, bytes)
        return bytes
      } catch (error) {
        // A torn or altered local copy: a connected source may still hold the real bytes.
        if (this.#sources.size === 0) throw error
        localError = error
        await this.storage.deleteFile(file)
      }
    }
    let lastError: unknown = localError
    for (const source of this.#sources) {
      try {
        bytes = await source(file)
      } catch (error) {
        lastError = error
        continue
      }
      if (!bytes) continue
      await verifyFile(file, bytes)
      await this.storage.writeFile(file, bytes)
      return bytes
    }
    if (lastError) throw lastError
    throw new MissingBlockError(file, 'the file is neither stored locally nor at any connected source')
  }

  /**
   * The files a file's header points to (where blocks it links to live). Following them from the head files
   * reaches every file the head needs; a file is only read for its header, its blocks are not kept.
   */
  async fileReferences(file: string): Promise<string[]> {
    const known = this.#references.get(file)
    if (known) return known
    const sealed = await this.fileBytes(file)
    const plain = await open(this.key, sealed, file, this.database)
    const { header } = await decodeCar(plain, file, { headerOnly: true })
    const references = header.locations.map(([holder]) => holder.toString())
    this.#rememberReferences(file, references)
    for (const listener of this.#onRead) listener(file, references)
    return references
  }

  async #readFile(file: string): Promise<Map<string, RawBlock>> {
    const sealed = await this.fileBytes(file)
    const plain = await open(this.key, sealed, file, this.database)
    const { header, blocks } = await decodeCar(plain, file)
    const read = new Map<string, RawBlock>()
    for (const raw of blocks) {
      const key = raw.cid.toString()
      read.set(key, raw)
      // A block made here that a file now holds (a replica wrote it too) leaves the unsaved ones.
      const unsaved = this.#unsaved.get(key)
      if (unsaved) this.#cache.addBlock(key, unsaved.block, file)
      else this.#cache.addRaw(key, raw, file)
      // A file read again (its blocks were evicted) must not take over blocks a newer file holds too: a
      // compaction reading old files would otherwise name them, not its own, in the headers it writes.
      if (this.#locations.has(key)) this.locate(key, file)
      else this.#place(key, file)
      this.#unsaved.delete(key)
      this.#derived.delete(key)
    }
    this.#cache.trim(file)
    for (const [holder, cids] of [...header.locations, ...(header.history ?? [])]) {
      const holderKey = holder.toString()
      for (const cid of cids) this.locate(cid, holderKey)
    }
    const references = header.locations.map(([holder]) => holder.toString())
    this.#rememberReferences(file, references)
    this.#loaded.add(file)
    for (const listener of this.#onRead) listener(file, references)
    return read
  }

  /**
   * Writes a file of its own holding `block` alone (an attachment chunk: header with no heads and no
   * references) and returns its CID. The block is not kept in memory, and no file-written listener is told:
   * it is not a transaction, the transaction whose file links the block is.
   */
  async writeChunkFile(header: FileHeader, block: Block): Promise<string> {
    const sealed = await seal(this.key, await encodeCar(header, [block]))
    const file = (await fileCid(sealed)).toString()
    await this.storage.writeFile(file, sealed)
    this.#place(block.cid.toString(), file)
    this.#rememberReferences(file, [])
    return file
  }

  /**
   * Writes the blocks of one transaction (`entries` and any unsaved block they link to) and returns the CID of
   * the file that holds its roots (the blocks nothing else in it links to: the clock event). Up to
   * `cutAbove` bytes of blocks make one file. A larger transaction (a bulk load) is cut into files of about
   * `CUT_FILE_BYTES`, each written after the files it links into, the roots and the top of their trees last
   * (see `cutInFiles`): a file is read and verified as a whole, so a cold read of one document opens the small
   * last file and the few files on its path instead of the whole transaction. `heads` are the clock heads
   * after the transaction.
   */
  async commit(
    entries: Pending[],
    heads: CID[],
    options: {
      /** Older clock events and the files that hold them, for the last header's `history` (see FileHeader). */
      history?: [CID, string[]][]
      /** Files the new file does not link into but that must travel with it: named as references. */
      carry?: string[]
      /** Block bytes above which the transaction is cut into several files (Infinity: one file). */
      cutAbove?: number
    } = {},
  ): Promise<string> {
    const { history = [], carry = [], cutAbove = CUT_ABOVE_BYTES } = options
    const { inFile, size } = this.#gather(entries)
    const groups = size <= cutAbove ? [[...inFile.values()]] : cutInFiles(inFile, CUT_FILE_BYTES)
    // Sealed one after the other (a file's header names the files of the blocks it links to), then stored
    // together: in one storage transaction where the storage has them (IndexedDB), at once otherwise.
    const sealed: SealedFile[] = []
    const placed = new Map<string, string>()
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]!
      const last = i === groups.length - 1
      const file = await this.#sealFile(group, heads, placed, last ? history : [], last ? carry : [])
      if (!last) for (const { block } of group) placed.set(block.cid.toString(), file.file)
      sealed.push(file)
    }
    if (sealed.length === 1) await this.storage.writeFile(sealed[0]!.file, sealed[0]!.bytes)
    else if (this.storage.writeFiles) await this.storage.writeFiles(sealed.map(({ file, bytes }) => [file, bytes]))
    else await Promise.all(sealed.map(({ file, bytes }) => this.storage.writeFile(file, bytes)))
    let bytes = 0
    for (let i = 0; i < sealed.length; i++) {
      this.#stored(sealed[i]!)
      bytes += sealed[i]!.bytes.length
    }
    const file = sealed[sealed.length - 1]!.file
    for (const listener of this.#onCommit) listener(file, bytes)
    return file
  }

  /** `entries` and every unsaved block they link to (a tree derived for a reader), and their bytes. */
  #gather(entries: Pending[]): { inFile: Map<string, Pending>; size: number } {
    // Indexed loops here and in #sealFile/#stored: a single put runs them before the JIT has optimized
    // anything, and unoptimized for-of allocates an iterator result per element (sequential-puts.ts).
    const inFile = new Map<string, Pending>()
    const queue = entries.slice()
    let size = 0
    while (queue.length) {
      const entry = queue.pop()!
      const key = entry.block.cid.toString()
      if (inFile.has(key)) continue
      inFile.set(key, entry)
      size += entry.block.bytes.length
      const links = entry.links
      for (let i = 0; i < links.length; i++) {
        const linkKey = links[i]!.toString()
        const unsaved = this.#unsaved.get(linkKey)
        if (unsaved && !inFile.has(linkKey)) queue.push(unsaved)
      }
    }
    return { inFile, size }
  }

  /** Called once per `commit` with the file holding the transaction's roots and the bytes of all its files. */
  onCommit(listener: (file: string, bytes: number) => void): () => void {
    this.#onCommit.add(listener)
    return () => this.#onCommit.delete(listener)
  }

  /**
   * Seals one file of a transaction: `group`'s blocks, linking only into itself, blocks `placed` in the
   * transaction's files sealed before it, and blocks already stored.
   */
  async #sealFile(
    group: Pending[],
    heads: CID[],
    placed: ReadonlyMap<string, string>,
    history: [CID, string[]][],
    carry: string[],
  ): Promise<SealedFile> {
    const header = this.#header(group, heads, placed, history, carry)
    const blocks = blocksOf(group)
    const bytes = await seal(this.key, await encodeCar(header, blocks))
    return this.#named(bytes, await fileCid(bytes), blocks, history, header)
  }

  /**
   * The common transactions (a single put's delta event; a checkpoint's event and tree nodes) committed before
   * returning, through a storage's synchronous writes: `commit`'s file, bytes for bytes. Undefined, with
   * nothing written, when a step would answer only with a promise (WebCrypto) or `commit` would cut the
   * transaction in several files.
   */
  commitNow(entries: Pending[], heads: CID[], writes: SynchronousWrites): string | undefined {
    const { inFile, size } = this.#gather(entries)
    if (size > CUT_ABOVE_BYTES) return undefined
    const group = [...inFile.values()]
    const header = this.#header(group, heads, new Map(), [], [])
    const blocks = blocksOf(group)
    const plain = encodeCarNow(header, blocks)
    const bytes = plain && sealNow(this.key, plain)
    const cid = bytes && fileCidNow(bytes)
    if (!cid) return undefined
    const file = this.#named(bytes, cid, blocks, [], header)
    writes.writeFile(file.file, file.bytes)
    this.#stored(file)
    for (const listener of this.#onCommit) listener(file.file, file.bytes.length)
    return file.file
  }

  /** The header of a file holding `group`: the heads, and where each block it links to outside it lives. */
  #header(group: Pending[], heads: CID[], placed: ReadonlyMap<string, string>, history: [CID, string[]][], carry: string[]): FileHeader {
    const inFile = new Set<string>()
    for (let i = 0; i < group.length; i++) inFile.add(group[i]!.block.cid.toString())
    const outside = new Map<string, Map<string, CID>>()
    for (let i = 0; i < group.length; i++) {
      const links = group[i]!.links
      for (let j = 0; j < links.length; j++) {
        const link = links[j]!
        const key = link.toString()
        if (inFile.has(key)) continue
        const holder = placed.get(key) ?? firstOf(this.#locations.get(key))
        if (!holder) throw new MissingBlockError(key, 'a new block links to a block with no known file')
        let linked = outside.get(holder)
        if (!linked) outside.set(holder, (linked = new Map()))
        linked.set(key, link)
      }
    }
    const header: FileHeader = {
      v: FILE_VERSION,
      heads,
      locations: [...outside].map(([holder, cids]) => [this.#fileCid(holder), [...cids.values()]]),
    }
    // After a key rotation every file carries the key-epoch file, so whatever uploads a head uploads the earlier keys.
    const epochFile = this.key instanceof KeyRing ? this.key.epochFile : undefined
    for (const holder of epochFile ? [...carry, epochFile] : carry) {
      if (!outside.has(holder) && !header.locations.some(([cid]) => cid.toString() === holder)) {
        header.locations.push([this.#fileCid(holder), []])
      }
    }
    if (history.length) header.history = groupByFile(history)
    return header
  }

  #named(bytes: Uint8Array, cid: CID, blocks: Block[], history: [CID, string[]][], header: FileHeader): SealedFile {
    const file = cid.toString()
    this.#noteFileCid(file, cid)
    return { file, bytes, blocks, history, references: header.locations.map(([holder]) => holder.toString()) }
  }

  /** Records a file of a transaction once stored: its blocks are kept (cache) and found there. */
  #stored({ file, bytes, blocks, history, references }: SealedFile): void {
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]!
      const key = block.cid.toString()
      this.#cache.addBlock(key, block, file)
      this.#place(key, file)
      this.#unsaved.delete(key)
      this.#derived.delete(key)
    }
    for (let i = 0; i < history.length; i++) for (const holder of history[i]![1]) this.locate(history[i]![0], holder)
    this.#loaded.add(file)
    this.#rememberReferences(file, references)
    for (const listener of this.#onFile) listener(file, bytes.length)
  }
}

function blocksOf(group: Pending[]): Block[] {
  const blocks: Block[] = []
  for (let i = 0; i < group.length; i++) blocks.push(group[i]!.block)
  return blocks
}

/** A file of a transaction, sealed and named, before it is stored. */
interface SealedFile {
  file: string
  bytes: Uint8Array
  blocks: Block[]
  history: [CID, string[]][]
  references: string[]
}

/**
 * Block bytes of a transaction above which it is written as several files (see `BlockStore.commit`): a file
 * is sealed, hashed and read as one unit, and a cold get of one document in a database written by one bulk of
 * 10 000 decrypted and hashed all of it (1.7 MB). The size of a compaction's files (compaction-writer.ts), so
 * no file read cold is larger; single puts and checkpoints (a few KB to ~200 KB) stay one file each.
 */
export const CUT_ABOVE_BYTES = 256 * 1024

/**
 * Block bytes per file of a transaction that is cut: a cold get reads the last file and about two of these
 * (10 000-doc bulk: 81 KB read at 32 KiB, 152 KB at 64 KiB, 74 KB at 16 KiB, where 16 KiB doubles the files).
 */
export const CUT_FILE_BYTES = 32 * 1024

/**
 * Cuts a transaction's blocks into files (see `BlockStore.commit`). The last file holds the roots (the blocks
 * no other block of the transaction links to) and the top of what they reach: the levels below the roots, one
 * at a time from the top, while those levels and the locations of the level under them (~40 bytes each, in
 * its header) stay within a quarter of `maxBytes` (every read starts there: a tree's root and upper branch
 * nodes). The other blocks go in post-order (children before their parents, links followed in order, so a
 * tree's leaves in key order and a branch node with its last children) into files of about `maxBytes`.
 */
function cutInFiles(inFile: Map<string, Pending>, maxBytes: number): Pending[][] {
  const linked = new Set<string>()
  for (const { links } of inFile.values()) for (const link of links) linked.add(link.toString())
  const roots = [...inFile].filter(([key]) => !linked.has(key)).map(([, entry]) => entry)
  const keyOf = (entry: Pending) => entry.block.cid.toString()
  const top = new Set(roots.map(keyOf))
  let level = roots
  let topBytes = 0
  for (;;) {
    const below = new Map<string, Pending>()
    for (const { links } of level) {
      for (const link of links) {
        const key = link.toString()
        const child = inFile.get(key)
        if (child && !top.has(key)) below.set(key, child)
      }
    }
    if (below.size === 0) break
    let bytes = topBytes
    const next = new Set<string>()
    for (const { block, links } of below.values()) {
      bytes += block.bytes.length
      for (const link of links) if (inFile.has(link.toString())) next.add(link.toString())
    }
    if (bytes + LOCATION_BYTES * next.size > maxBytes / 4) break
    topBytes = bytes
    for (const key of below.keys()) top.add(key)
    level = [...below.values()]
  }
  const groups: Pending[][] = []
  const last: Pending[] = []
  let group: Pending[] = []
  let size = 0
  const placed = new Set<string>()
  // Iterative: a long chain of blocks must not exhaust the call stack.
  const visit = (entry: Pending) => {
    const frames: { entry: Pending; next: number }[] = [{ entry, next: 0 }]
    placed.add(keyOf(entry))
    while (frames.length) {
      const frame = frames[frames.length - 1]!
      if (frame.next < frame.entry.links.length) {
        const key = frame.entry.links[frame.next++]!.toString()
        const child = inFile.get(key)
        if (child && !placed.has(key)) {
          placed.add(key)
          frames.push({ entry: child, next: 0 })
        }
        continue
      }
      frames.pop()
      if (top.has(keyOf(frame.entry))) {
        last.push(frame.entry)
        continue
      }
      group.push(frame.entry)
      size += frame.entry.block.bytes.length
      if (size >= maxBytes) {
        groups.push(group)
        group = []
        size = 0
      }
    }
  }
  for (const root of roots) visit(root)
  if (group.length) groups.push(group)
  groups.push(last)
  return groups
}

/** About what a block's location costs in a file header (its CID, 36 bytes, and CBOR framing). */
const LOCATION_BYTES = 40

/**
 * Default of the database option `cacheBytes`: block bytes of stored files kept in memory (decoded blocks take
 * a few times more as objects). Reads beyond it load files again.
 */
export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024

/**
 * Files whose references are remembered (see `#references`): kept for every file, they were ~100 B of a
 * long-running writer's memory per file it ever wrote (a single put writes one).
 */
const REFERENCES_KEPT = 4096

/** The files of a location entry, preferred first. */
function filesOf(entry: string | string[] | undefined): readonly string[] {
  return entry === undefined ? [] : typeof entry === 'string' ? [entry] : entry
}

/** The preferred file of a location entry. */
function firstOf(entry: string | string[] | undefined): string | undefined {
  return typeof entry === 'string' ? entry : entry?.[0]
}

/** File CIDs remembered by name (see `#fileCids`). */
const FILE_CIDS_KEPT = 256

/** Event roots remembered; older ones are derived again when asked for. */
const EVENT_ROOTS_KEPT = 4096

function groupByFile(history: [CID, string[]][]): [CID, CID[]][] {
  const byFile = new Map<string, Map<string, CID>>()
  for (const [cid, files] of history) {
    for (const file of files) {
      let group = byFile.get(file)
      if (!group) byFile.set(file, (group = new Map()))
      group.set(cid.toString(), cid)
    }
  }
  return [...byFile].map(([file, cids]) => [CID.parse(file), [...cids.values()]])
}
