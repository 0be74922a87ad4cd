import type { CID } from '../format/block.js'

/**
 * Whether two states stand on the same clock (the same set of head events). Two states can hold the same tree
 * under different clocks (a merge whose writes all lost, or one that joined clocks without changing a
 * document); only the clock says whether one replica has what another flushed.
 */
export function sameClock(a: { heads: CID[] }, b: { heads: CID[] } | null | undefined): boolean {
  if (!b || a.heads.length !== b.heads.length) return false
  const heads = new Set(a.heads.map(String))
  return b.heads.every((cid) => heads.has(cid.toString()))
}
