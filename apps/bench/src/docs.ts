/** Deterministic documents (~200 B of JSON each) and a seeded RNG, shared by every system and the floor. */

export interface BenchDoc {
  [field: string]: unknown
  _id: string
  n: number
  title: string
  done: boolean
  owner: string
  tags: string[]
  body: string
}

/** mulberry32: small, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = 'milk eggs bread tea rice salt soap jam oats corn plum kale fig lime nut bean'.split(' ')
const ALPHA = 'abcdefghijklmnopqrstuvwxyz      '

export const docId = (i: number, prefix = 'doc'): string => `${prefix}-${String(i).padStart(7, '0')}`

export function makeDoc(i: number, prefix = 'doc', seed = 1): BenchDoc {
  const r = rng(i * 7919 + seed)
  const word = () => WORDS[Math.floor(r() * WORDS.length)]!
  let body = ''
  for (let k = 0; k < 72; k++) body += ALPHA[Math.floor(r() * ALPHA.length)]
  return {
    _id: docId(i, prefix),
    n: i,
    title: `item ${i}: ${word()} and ${word()}`,
    done: r() < 0.5,
    owner: `user-${Math.floor(r() * 100)}`,
    tags: [word(), word()],
    body,
  }
}

export function makeDocs(count: number, prefix = 'doc', seed = 1): BenchDoc[] {
  return Array.from({ length: count }, (_, i) => makeDoc(i, prefix, seed))
}

/** Mean JSON size in bytes of the first `count` docs. */
export function meanDocBytes(count = 1000): number {
  const enc = new TextEncoder()
  let total = 0
  for (let i = 0; i < count; i++) total += enc.encode(JSON.stringify(makeDoc(i))).length
  return Math.round(total / count)
}

/** Same content, ignoring fields a system adds (_rev, ...). */
export function sameDoc(got: unknown, want: BenchDoc): boolean {
  if (!got || typeof got !== 'object') return false
  const g = got as Record<string, unknown>
  return (
    g._id === want._id &&
    g.n === want.n &&
    g.title === want.title &&
    g.body === want.body &&
    g.done === want.done &&
    JSON.stringify(g.tags) === JSON.stringify(want.tags)
  )
}
