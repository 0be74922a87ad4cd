import type { Block, CID } from '../blockstore/block.js'
import { openCompaction } from '../blockstore/compact.js'
import { BlockStore, MissingBlockError } from '../blockstore/store.js'
import { isDelta, loadEvent } from '../clock/event.js'
import { checkedHeadRoot, rootOf } from '../clock/root.js'
import { followKeybag, keyLearner, loadKey } from '../crypto/keybag.js'
import { CorruptRecordError, IntegrityError, KeyMismatchError } from '../errors.js'
import { cidV1 } from '../kit/sha256-cid.js'
import type { TreeNode } from '../format/tree-node.js'
import { readIndexes, type IndexState } from '../index/record.js'
import type { Storage } from '../storage/api.js'
import type { DatabaseOptions } from './api.js'
import { describeRecord, markMerged, readHead, type HeadState } from './head.js'

/** What an open database holds: its blocks, its storage, and where it stands. */
export interface OpenState {
  store: BlockStore
  storage: Storage
  head: HeadState | undefined
  emptyRoot: CID
  /** Persisted secondary indexes by name (see index/record.ts). */
  indexes: Map<string, IndexState>
  /** Files written since the last compaction (automatic compaction runs past `compactEvery`). */
  filesSinceCompaction: number
  /**
   * Bytes of the files written since the last compaction (estimated at opening from their count), and of the
   * files it wrote: automatic compaction also waits until the first is a fair share of the second, so its
   * cost, which grows with the database, is spread over as many writes (see compactor.ts).
   */
  bytesSinceCompaction: number
  compactedBytes: number
  /**
   * Delta events between the head and its nearest checkpoint (see head-state.ts), when known; unknown (a
   * head opened or adopted) makes the next write a checkpoint.
   */
  deltaDepth?: number
  /** The newest file could not be read when the database opened (torn, or absent): see repairHead. */
  damagedHead?: { file: string; error: unknown }
}

/**
 * The empty tree `{ l: 0, e: [] }` (crdt/tree.ts `emptyTree`), the root of a database with no documents, which
 * every open keeps at hand: its bytes and CID are fixed, so they are given as they are rather than encoded and
 * hashed in a cold process (test/cold-open.test.ts checks them against emptyTree).
 */
export function emptyTreeBlock(): Block<TreeNode> {
  return { cid: cidV1(EMPTY_TREE_CID.slice()), bytes: EMPTY_TREE_BYTES.slice(), value: { l: 0, e: [] } }
}

/** dag-cbor `{ e: [], l: 0 }`. */
const EMPTY_TREE_BYTES = Uint8Array.of(0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c, 0x00)
/** CIDv1, dag-cbor, sha2-256 of EMPTY_TREE_BYTES: bafyreig62sfuqj3lx36vf7qgzewoc7equcco6lu63snfr3vbcxbskslidi. */
const EMPTY_TREE_CID = Uint8Array.of(
  0x01, 0x71, 0x12, 0x20, 0xde, 0xd4, 0x8b, 0x48, 0x27, 0x6b, 0xbe, 0xfd, 0x52, 0xfe, 0x06, 0xc9, 0x2c, 0xe1, 0x7c, 0x90,
  0xa0, 0x84, 0xef, 0x2e, 0x9e, 0xdc, 0x9a, 0x58, 0xee, 0xa1, 0x15, 0xc3, 0x25, 0x49, 0x68, 0x1a,
)

/** What a file written before this session is counted as (a single write's file is ~0.5–1 KB). */
const ESTIMATED_FILE_BYTES = 1024

/** Reads the key, the head record, the compaction record and the indexes of a database's storage. */
export async function openState(name: string, branch: string, options: DatabaseOptions, storage: Storage): Promise<OpenState> {
  const key = await loadKey(storage, name, options.key)
  const store = new BlockStore(storage, key, name, options.cacheBytes)
  key.onLearn(keyLearner(key, storage, name, (file) => store.fileBytes(file)))
  followKeybag(key, storage)
  const head = await readHead(storage, branch)
  const empty = emptyTreeBlock()
  store.putUnsaved(empty, [])
  const emptyRoot = empty.cid
  // The last compaction's locations come first: older headers may still name files it deleted.
  const compaction = await openCompaction(storage, store)
  const indexes = await readIndexes(storage, branch)
  for (const index of indexes.values()) {
    store.locate(index.root, index.file)
    if (index.docEvent) store.locate(index.docEvent, index.docFile)
    else store.locate(index.docRoot, index.docFile)
  }
  const compacted = new Set(compaction?.files ?? [])
  const filesSinceCompaction = (await storage.listFiles()).filter((file) => !compacted.has(file)).length
  let damagedHead: OpenState['damagedHead']
  if (head) {
    head.heads.forEach((cid, i) => store.locate(cid, head.files[i]!))
    // The newest file is read now: it proves the key opens this database (KeyMismatchError otherwise), and
    // that the head record matches it. A torn or missing copy does not stop the opening: a sync connected
    // next can fetch it (see repairHead).
    damagedHead = await openHeadFile(name, branch, options, store, storage, head)
    markMerged(storage, branch, head)
  }
  const state: OpenState = {
    store,
    storage,
    head,
    emptyRoot,
    indexes,
    filesSinceCompaction,
    bytesSinceCompaction: filesSinceCompaction * ESTIMATED_FILE_BYTES,
    compactedBytes: compaction?.bytes ?? 0,
    damagedHead,
  }
  // Per transaction, not per file: a large one is cut into several files (BlockStore.commit).
  store.onCommit((_, bytes) => {
    state.filesSinceCompaction++
    state.bytesSinceCompaction += bytes
  })
  return state
}

/**
 * When the newest file was damaged at opening, every operation first tries to read it again (a connected
 * sync's backend may hold the good copy, which then replaces the local one) and fails with a typed error
 * naming the file and the head record while it cannot.
 */
export async function repairHead(branch: string, state: OpenState): Promise<void> {
  if (!state.damagedHead || !state.head) return
  const { file } = state.damagedHead
  const where = describeRecord(state.storage, branch)
  try {
    await state.store.loadFile(file)
  } catch (error) {
    if (error instanceof IntegrityError) {
      throw new IntegrityError(
        file,
        `the newest local file, named by ${where}, is damaged (${error.message}) and no connected replica holds a good copy`,
      )
    }
    if (error instanceof MissingBlockError) {
      throw new CorruptRecordError(where, `it names ${file} as the newest file, which is neither stored here nor at any connected source`)
    }
    throw error
  }
  await checkHead(branch, state.store, state.storage, state.head)
  state.damagedHead = undefined
}

/** Loads the newest file at opening; a torn or absent copy is reported back (not thrown), see repairHead. */
async function openHeadFile(
  name: string,
  branch: string,
  options: DatabaseOptions,
  store: BlockStore,
  storage: Storage,
  head: HeadState,
): Promise<OpenState['damagedHead']> {
  const file = head.files[0]!
  try {
    await store.loadFile(file)
  } catch (error) {
    if (error instanceof IntegrityError || error instanceof MissingBlockError) return { file, error }
    if (error instanceof KeyMismatchError && options.key === undefined) {
      // The key came from the local keybag, so the keybag and the files disagree.
      throw new KeyMismatchError(
        name,
        `the key kept in the keybag record of ${JSON.stringify(storage.location)} does not open the newest local file ${file}: the keybag is corrupt or was replaced`,
      )
    }
    throw error
  }
  await checkHead(branch, store, storage, head)
  return undefined
}

/** The head record must match the events it names (a flipped byte can leave it decodable but wrong). */
async function checkHead(branch: string, store: BlockStore, storage: Storage, head: HeadState): Promise<void> {
  const where = describeRecord(storage, branch)
  let height = 0
  for (const [i, cid] of head.heads.entries()) {
    let event: Awaited<ReturnType<typeof loadEvent>>
    try {
      event = await loadEvent(store, cid)
    } catch (error) {
      if (error instanceof MissingBlockError) {
        throw new CorruptRecordError(where, `it names head event ${cid}, which its file ${head.files[i]} does not hold`)
      }
      throw error
    }
    height = Math.max(height, event.h)
    if (head.heads.length === 1 && !isDelta(event) && head.root && !event.r.equals(head.root)) {
      throw new CorruptRecordError(where, `it names root ${head.root}, but its head event ${cid} has root ${event.r}`)
    }
  }
  // A delta head's tree was derived, not written (unless a compaction wrote it since): derive it again.
  if (head.heads.length === 1) {
    const root = await checkedHeadRoot(
      store,
      head,
      () => rootOf(store, head.heads[0]!),
      (derived) => new CorruptRecordError(where, `it names root ${head.root}, but its head event ${head.heads[0]} gives root ${derived}`),
    )
    store.noteEventRoot(head.heads[0]!, root)
    // A delta head's record may name no root (format/head.ts version 2): the derived one is the head's.
    head.root = root
  }
  if (height !== head.height) {
    throw new CorruptRecordError(where, `it says height ${head.height}, but its head events have height ${height}`)
  }
}
