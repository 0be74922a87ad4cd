import { CID, type BlockFetcher } from '../blockstore/block.js'
import { loadEvent } from './event.js'

/** Events looked at before answering "unsure"; an unsure answer only costs one merge event. */
const WALK_BUDGET = 256

/**
 * True when every event of `wanted` is one of `from` or an ancestor of them. Walks back from `from` through
 * events already loaded in the store (never downloading: merges must work offline and stay lazy), pruned by
 * height. Returns false when it cannot tell, so a caller that then joins the two clocks in a merge event
 * (always correct, one small file) never drops a clock from the history.
 *
 * With `fetch`, events of `from` not loaded yet are read (downloaded if need be) within the same budget:
 * for a remote head that may contain the local one, whose in-between events a reader that missed them never
 * loaded (a merge event then would be pushed, and merged back by a writer writing on). A failed read answers
 * false.
 */
export async function containsEvents(
  store: BlockFetcher,
  from: readonly CID[],
  wanted: readonly CID[],
  { fetch = false }: { fetch?: boolean } = {},
): Promise<boolean> {
  const missing = new Set(wanted.map(String))
  for (const cid of from) missing.delete(cid.toString())
  if (!missing.size) return true
  let lowest = Infinity
  for (const text of missing) {
    const cid = CID.parse(text)
    if (!store.has(cid)) return false
    lowest = Math.min(lowest, (await loadEvent(store, cid)).h)
  }
  const seen = new Set<string>()
  const stack = [...from]
  let budget = WALK_BUDGET
  while (stack.length) {
    const cid = stack.pop()!
    const key = cid.toString()
    if (seen.has(key)) continue
    seen.add(key)
    if (--budget < 0 || (!fetch && !store.has(cid))) return false
    let event
    try {
      event = await loadEvent(store, cid)
    } catch (error) {
      if (fetch) return false
      throw error
    }
    for (const parent of event.p) {
      if (missing.delete(parent.toString()) && !missing.size) return true
    }
    // Parents are lower than their child: below the lowest wanted height nothing wanted can appear.
    if (event.h - 1 > lowest) stack.push(...event.p)
  }
  return false
}
