import { CID } from '../blockstore/block.js'
import type { BlockStore } from '../blockstore/store.js'
import { compareKeys } from '../crdt/entry.js'
import { mergeTrees } from '../crdt/merge.js'
import { loadEvent } from './event.js'
import { rootOf } from './root.js'

/**
 * The document tree at `clock` (CID strings of clock events): the tree of its event (root.ts), or the merge of its
 * events' roots taken in CID order, so that every replica resolves one clock to one tree. The merged blocks
 * stay unsaved in the store. Events this session has not seen are looked for behind `heads`.
 */
export async function resolveRoot(
  store: BlockStore,
  heads: readonly CID[],
  emptyRoot: CID,
  clock: readonly string[],
): Promise<CID> {
  const cids = clock.map((text) => {
    try {
      return CID.parse(text)
    } catch {
      throw new TypeError(`Not a clock event CID: ${JSON.stringify(text)}`)
    }
  })
  if (cids.length === 0) return emptyRoot
  await locateEvents(store, heads, cids)
  let root: CID | undefined
  for (const cid of cids.sort((a, b) => compareKeys(a.toString(), b.toString()))) {
    const eventRoot = await rootOf(store, cid)
    if (!root) root = eventRoot
    else {
      const merged = await mergeTrees(store, root, eventRoot)
      for (const { block, links } of merged.blocks) store.putUnsaved(block, links)
      root = merged.root
    }
  }
  return root!
}

/** Finds the files of events this session has not seen, walking back from `heads`. */
async function locateEvents(store: BlockStore, heads: readonly CID[], cids: CID[]): Promise<void> {
  const missing = new Set(cids.filter((cid) => !store.has(cid) && !store.locationOf(cid)).map(String))
  if (missing.size === 0) return
  const seen = new Set<string>()
  const stack = [...heads]
  while (stack.length && missing.size) {
    const cid = stack.pop()!
    if (seen.has(cid.toString())) continue
    seen.add(cid.toString())
    const event = await loadEvent(store, cid)
    for (const parent of event.p) {
      missing.delete(parent.toString())
      stack.push(parent)
    }
  }
  if (missing.size) throw new TypeError(`Unknown clock: ${[...missing].join(', ')} is not in this database's history`)
}
