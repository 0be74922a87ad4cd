import { uuidv7 } from 'uuidv7'
import { CID } from '../blockstore/block.js'
import { BlockStore } from '../blockstore/store.js'
import { loadEvent, makeEvent } from '../clock/event.js'
import type { Connector } from '../connector/api.js'
import type { Body, Entry } from '../crdt/entry.js'
import { compareKeys } from '../crdt/entry.js'
import { mergeTrees } from '../crdt/merge.js'
import { applyEntries, diff, emptyTree, type NewBlock } from '../crdt/tree.js'
import { keyToString } from '../crypto/key.js'
import { loadKey } from '../crypto/keybag.js'
import { ClosedError } from '../errors.js'
import type { Storage } from '../storage/api.js'
import { createSync } from '../sync/sync.js'
import type { Sync, SyncOptions } from '../sync/api.js'
import type { ChangeRow, Clock, Database, DatabaseOptions, Doc, ReadView, WriteResult } from './api.js'
import { readHead, writeHead, type HeadState } from './head.js'
import { checkDoc, checkId, checkName, describe } from './validate.js'
import { toRow, TreeView, type Snapshot } from './view.js'
import { openStorage } from './open-storage.js'

type Op = [id: string, body: Body]

interface PendingWrite {
  ops: Op[]
  resolve: (clock: Clock) => void
  reject: (error: unknown) => void
}

/** What `sync` needs from an open database: its blocks, where it stands, and a way to merge a remote. */
export interface Replica {
  readonly name: string
  readonly branch: string
  readonly store: BlockStore
  readonly storage: Storage
  head(): HeadState | undefined
  /** Merges a remote head into the local one (one new file when the two diverged). */
  merge(remote: HeadState): Promise<void>
  /** Resolves once queued writes are committed. */
  idle(): Promise<void>
  /** Called after every change of the local head (commit, merge, adoption of a remote head). */
  onHead(listener: () => void): () => void
  onClose(listener: () => Promise<void>): void
}

interface OpenState {
  store: BlockStore
  storage: Storage
  head: HeadState | undefined
  emptyRoot: CID
}

export function database(name: string, options: DatabaseOptions = {}): Database {
  return new DatabaseImpl(checkName(name), options)
}

class DatabaseImpl extends TreeView implements Database {
  readonly #options: DatabaseOptions
  readonly #branch: string
  readonly #opening: Promise<OpenState>
  #state: OpenState | undefined
  #closed = false
  #pending: PendingWrite[] = []
  #scheduled = false
  #tail: Promise<unknown> = Promise.resolve()
  readonly #listeners = new Set<(changed: ChangeRow[]) => void>()
  readonly #closeHooks: (() => Promise<void>)[] = []
  readonly #headListeners = new Set<() => void>()

  constructor(name: string, options: DatabaseOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`database(${JSON.stringify(name)}): options must be an object, got ${describe(options)}`)
    }
    const ready = () => this.#ready()
    super(
      name,
      async () => snapshotOf(await ready()),
      async (clock) => this.#rootAt(clock),
    )
    this.#options = options
    this.#branch = options.branch ?? 'main'
    this.#opening = this.#open()
    this.#opening.catch(() => {})
  }

  async #open(): Promise<OpenState> {
    const storage = await openStorage(this.name, this.#options)
    const key = await loadKey(storage, this.name, this.#options.key)
    const store = new BlockStore(storage, key, this.name)
    const head = await readHead(storage, this.#branch)
    const scratch: NewBlock[] = []
    const emptyRoot = await emptyTree(scratch)
    for (const { block, links } of scratch) store.putUnsaved(block, links)
    if (head) {
      head.heads.forEach((cid, i) => store.locate(cid, head.files[i]!))
      // The newest file is read now: it proves the key opens this database (KeyMismatchError otherwise).
      await store.loadFile(head.files[0]!)
    }
    this.#state = { store, storage, head, emptyRoot }
    return this.#state
  }

  async #ready(): Promise<OpenState> {
    if (this.#closed) throw new ClosedError(this.name)
    return this.#opening
  }

  async #rootAt(clock: Clock): Promise<CID> {
    const state = await this.#ready()
    const cids = clock.map((text) => {
      try {
        return CID.parse(text)
      } catch {
        throw new TypeError(`Not a clock event CID: ${JSON.stringify(text)}`)
      }
    })
    if (cids.length === 0) return state.emptyRoot
    await this.#locateEvents(state, cids)
    let root: CID | undefined
    for (const cid of cids.sort((a, b) => compareKeys(a.toString(), b.toString()))) {
      const event = await loadEvent(state.store, cid)
      if (!root) root = event.r
      else {
        const merged = await mergeTrees(state.store, root, event.r)
        for (const { block, links } of merged.blocks) state.store.putUnsaved(block, links)
        root = merged.root
      }
    }
    return root!
  }

  /** Finds the files of events this session has not seen, walking back from the current heads. */
  async #locateEvents(state: OpenState, cids: CID[]): Promise<void> {
    const missing = new Set(cids.filter((cid) => !state.store.has(cid) && !state.store.locationOf(cid)).map(String))
    if (missing.size === 0) return
    const seen = new Set<string>()
    const stack = [...(state.head?.heads ?? [])]
    while (stack.length && missing.size) {
      const cid = stack.pop()!
      if (seen.has(cid.toString())) continue
      seen.add(cid.toString())
      const event = await loadEvent(state.store, cid)
      for (const parent of event.p) {
        missing.delete(parent.toString())
        stack.push(parent)
      }
    }
    if (missing.size) throw new TypeError(`Unknown clock: ${[...missing].join(', ')} is not in this database's history`)
  }

  async put<T extends Doc>(doc: T): Promise<WriteResult> {
    const { id, body } = checkDoc(doc, 'put()')
    const docId = id ?? uuidv7()
    const clock = await this.#write([[docId, body]])
    return { id: docId, clock }
  }

  async del(id: string): Promise<WriteResult> {
    checkId(id, 'del()')
    return { id, clock: await this.#write([[id, null]]) }
  }

  async bulk<T extends Doc>(docs: T[]): Promise<{ ids: string[]; clock: Clock }> {
    if (!Array.isArray(docs)) throw new TypeError(`bulk() expects an array of documents, got ${describe(docs)}`)
    const ops: Op[] = docs.map((doc, i) => {
      const { id, body } = checkDoc(doc, `bulk() document #${i}`)
      return [id ?? uuidv7(), body]
    })
    if (ops.length === 0) return { ids: [], clock: await this.clock() }
    return { ids: ops.map(([id]) => id), clock: await this.#write(ops) }
  }

  #write(ops: Op[]): Promise<Clock> {
    if (this.#closed) return Promise.reject(new ClosedError(this.name))
    return new Promise((resolve, reject) => {
      this.#pending.push({ ops, resolve, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        void this.#exclusive(() => this.#drainWrites())
      }
    })
  }

  /** Runs tasks one at a time: the writes that queue up while one commits become the next transaction. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task)
    this.#tail = run.catch(() => {})
    return run
  }

  async #drainWrites(): Promise<void> {
    this.#scheduled = false
    const batch = this.#pending.splice(0)
    if (batch.length === 0) return
    try {
      const state = await this.#ready().catch(async (error) => {
        if (error instanceof ClosedError) return this.#opening
        throw error
      })
      const clock = await this.#commit(state, batch.flatMap((write) => write.ops))
      for (const write of batch) write.resolve(clock)
    } catch (error) {
      for (const write of batch) write.reject(error)
    }
  }

  async #commit(state: OpenState, ops: Op[]): Promise<Clock> {
    const latest = new Map<string, Body>()
    for (const [id, body] of ops) latest.set(id, body)
    const height = (state.head?.height ?? 0) + 1
    const entries: Entry[] = [...latest]
      .sort(([a], [b]) => compareKeys(a, b))
      .map(([id, body]) => [id, height, body])
    const base = state.head?.root ?? state.emptyRoot
    const { root, blocks } = await applyEntries(state.store, base, entries, () => true)
    const rows = entries.map(toRow)
    await this.#advance(state, [...blocks], root, height, rows)
    return state.head!.heads.map(String)
  }

  /** Writes one file with `blocks` and a new clock event at `height`, then the local head. */
  async #advance(state: OpenState, blocks: NewBlock[], root: CID, height: number, rows: ChangeRow[]): Promise<void> {
    const parents = state.head?.heads ?? []
    const event = await makeEvent(parents, height, root)
    const file = await state.store.commit([...blocks, event], [event.block.cid])
    const head: HeadState = { heads: [event.block.cid], files: [file], root, height }
    await writeHead(state.storage, this.#branch, head)
    state.head = head
    this.#emit(rows)
  }

  #emit(rows: ChangeRow[]): void {
    for (const listener of this.#headListeners) listener()
    if (rows.length === 0) return
    for (const listener of this.#listeners) {
      try {
        listener(rows)
      } catch (error) {
        console.error(`subscribe() listener of database ${JSON.stringify(this.name)} threw:`, error)
      }
    }
  }

  subscribe(listener: (changed: ChangeRow[]) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`subscribe() expects a function, got ${describe(listener)}`)
    }
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async clock(): Promise<Clock> {
    const state = await this.#ready()
    return state.head?.heads.map(String) ?? []
  }

  async at(clock: Clock): Promise<ReadView> {
    if (!Array.isArray(clock)) throw new TypeError(`at() expects a clock (an array of CID strings), got ${describe(clock)}`)
    const state = await this.#ready()
    const root = await this.#rootAt(clock)
    const frozen: Snapshot = { store: state.store, root, clock: [...clock] }
    return new TreeView(this.name, async () => {
      await this.#ready()
      return frozen
    }, (since) => this.#rootAt(since))
  }

  async exportKey(): Promise<string> {
    const state = await this.#ready()
    return keyToString(state.store.key.raw)
  }

  connect(connector: Connector, options: SyncOptions = {}): Sync {
    if (this.#closed) throw new ClosedError(this.name)
    return createSync(this.#replica(), connector, options)
  }

  #replica(): Promise<Replica> {
    return this.#ready().then((state) => ({
      name: this.name,
      branch: this.#branch,
      store: state.store,
      storage: state.storage,
      head: () => state.head,
      merge: (remote) => this.#exclusive(() => this.#merge(state, remote)),
      idle: () => this.#exclusive(async () => {}),
      onHead: (listener) => {
        this.#headListeners.add(listener)
        return () => this.#headListeners.delete(listener)
      },
      onClose: (hook) => {
        this.#closeHooks.push(hook)
      },
    }))
  }

  async #merge(state: OpenState, remote: HeadState): Promise<void> {
    remote.heads.forEach((cid, i) => state.store.locate(cid, remote.files[i]!))
    // The head files carry the locations of everything the remote tree links to.
    await Promise.all(remote.files.map((file) => state.store.loadFile(file)))
    const local = state.head
    if (!local) {
      await this.#adopt(state, remote, state.emptyRoot)
      return
    }
    if (remote.root.equals(local.root)) return
    const merged = await mergeTrees(state.store, local.root, remote.root)
    if (merged.root.equals(local.root)) return
    if (merged.root.equals(remote.root)) {
      await this.#adopt(state, remote, local.root)
      return
    }
    const height = Math.max(local.height, remote.height) + 1
    const rows = this.#listeners.size ? await changedRows(state.store, local.root, merged.root) : []
    const event = await makeEvent([...local.heads, ...remote.heads], height, merged.root)
    const file = await state.store.commit([...merged.blocks, event], [event.block.cid])
    const head: HeadState = { heads: [event.block.cid], files: [file], root: merged.root, height }
    await writeHead(state.storage, this.#branch, head)
    state.head = head
    this.#emit(rows)
  }

  /** Takes a remote head that already contains everything local (no new file is written). */
  async #adopt(state: OpenState, remote: HeadState, previousRoot: CID): Promise<void> {
    // Listing what changed reads both trees; without listeners a new device stays lazy.
    const rows = this.#listeners.size ? await changedRows(state.store, previousRoot, remote.root) : []
    await writeHead(state.storage, this.#branch, remote)
    state.head = { ...remote }
    this.#emit(rows)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    await this.#exclusive(async () => {})
    this.#closed = true
    for (const hook of this.#closeHooks.splice(0)) await hook().catch(() => {})
    const state = await this.#opening.catch(() => undefined)
    await state?.storage.close()
  }
}

async function changedRows(store: BlockStore, from: CID, to: CID): Promise<ChangeRow[]> {
  return (await diff(store, from, to)).map(({ entry }) => toRow(entry))
}

function snapshotOf(state: OpenState): Snapshot {
  return { store: state.store, root: state.head?.root ?? state.emptyRoot, clock: state.head?.heads.map(String) ?? [] }
}
