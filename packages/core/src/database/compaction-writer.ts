import { CID, type Block } from '../blockstore/block.js'
import type { BlockStore } from '../blockstore/store.js'
import { loadEvent } from '../clock/event.js'
import { load, type BranchNode, type LeafNode } from '../crdt/tree.js'
import { attachmentLinks, decodeManifest } from '../format/attachment.js'
import { isLinklessLeaf } from '../format/tree-node.js'
import { Pace } from './next-turn.js'

/**
 * Compaction output files are cut once they hold about this many block bytes (here, not by `BlockStore.commit`:
 * `located` must name the file each chunk is in). A file is sealed as one unit, so
 * a read of one block that is not cached decrypts its whole file: 256 KiB keeps that small (a 100-doc range
 * query at 1M documents read through a 32 MiB cache), where 1 MiB files made it 4× the work.
 */
export const COMPACT_FILE_BYTES = 256 * 1024

interface Pending {
  block: Block
  links: CID[]
}

/**
 * Writes every block reachable from the head into new files: the leaves of the trees (documents and
 * indexes) in key order, cut into files of about `maxBytes` (neighbouring keys share a file), then the branch
 * nodes in post-order and the head events, linking only to their tree root (`headRoots`, one per head). Every link of a file points into
 * the same file or one written before it (each header names only new files), and a lazy read needs the last
 * file plus the leaf files it touches.
 * The files are self-contained: no header points to a file older than the compaction except `keptFiles` (files
 * that stay because a connected backend does not hold them yet), so the other old files can be deleted
 * locally. Older clock events stay in older files (remote copies stay valid); the last file's header names
 * them in its `history`, so reading at an older clock can still fetch them from a connector.
 */
export async function writeCompacted(
  store: BlockStore,
  trees: CID[],
  heads: CID[],
  headRoots: CID[],
  keptFiles: ReadonlySet<string> = new Set(),
  maxBytes = COMPACT_FILE_BYTES,
  pace = new Pace(),
): Promise<{ files: string[]; eventFile: string; located: [CID, string][] }> {
  const seen = new Set<string>()
  const files: string[] = []
  const located: [CID, string][] = []
  let chunk: Pending[] = []
  let size = 0
  const flush = async () => {
    if (chunk.length === 0) return
    const file = await store.commit(chunk, heads, { cutAbove: Infinity })
    files.push(file)
    for (const { block } of chunk) located.push([block.cid, file])
    chunk = []
    size = 0
  }
  const add = async (pending: Pending) => {
    chunk.push(pending)
    size += pending.block.bytes.length
    if (size >= maxBytes) await flush()
  }
  // Post-order: each branch node follows its children, in key order, so it mostly shares a file with them and
  // a file's header names only the few children it links outside itself. (With every branch in the last file,
  // that header named every leaf of the database: ~10 000 locations, 0.2 s to decode, at 300k documents.) A
  // cold read opens the last file (the root) and one file per level below it.
  const visit = async (cid: CID): Promise<void> => {
    const key = cid.toString()
    if (seen.has(key)) return
    seen.add(key)
    // Writes go on meanwhile (compactor.ts): they get a turn of the event loop every few ms.
    const turn = pace.due()
    if (turn) await turn
    const block = await store.getUndecoded(cid)
    // Most leaves link nothing: copied by their bytes, never decoded (see isLinklessLeaf).
    if (isLinklessLeaf(block.bytes)) {
      await add({ block, links: [] })
      return
    }
    const node = await load(store, cid)
    if (node.l === 0) {
      // The attachment manifests a leaf links go first (a file links only into itself or earlier files);
      // they link the chunk files, which stay where they are: the compaction's files name them.
      const links = attachmentLinks((node as LeafNode).e)
      for (const manifest of links) {
        if (seen.has(manifest.toString())) continue
        seen.add(manifest.toString())
        const stored = await store.get(manifest)
        await add({ block: stored, links: decodeManifest(stored.value, manifest).chunks.map(([, chunk]) => chunk) })
      }
      await add({ block, links })
      return
    }
    const links = (node as BranchNode).e.map(([, child]) => child)
    for (const link of links) await visit(link)
    await add({ block, links })
  }
  for (const tree of trees) await visit(tree)
  // Parents are left out of the links on purpose: the state must not need a file the compaction deletes. Their
  // files are named in the header's history instead, so a reader can still walk back to older clocks. The
  // kept files (a connected backend does not hold them yet) are named as references of the last file, so
  // the next push, which walks references from the head files, still uploads them.
  const history: [CID, string[]][] = []
  for (const [i, head] of heads.entries()) {
    const block = await store.get(head)
    const event = await loadEvent(store, head)
    if (seen.has(head.toString())) continue
    seen.add(head.toString())
    for (const parent of event.p) {
      const holders = store.locationsOf(parent)
      if (holders.length) history.push([parent, [...holders]])
    }
    // A delta event links its parent, not a tree: here it links its tree, which this compaction wrote.
    chunk.push({ block, links: [headRoots[i]!] })
  }
  const file = await store.commit(chunk, heads, { history, carry: [...keptFiles], cutAbove: Infinity })
  files.push(file)
  for (const { block } of chunk) located.push([block.cid, file])
  chunk = []
  const eventFile = files[files.length - 1]!
  return { files, eventFile, located }
}
