import { IntegrityError } from '../errors.js'
import { CID, encodeBlock, type Block } from './block.js'

/**
 * A Merkle clock event, a dag-cbor block `{ p, h, r }`: its parents (the heads it saw, sorted by CID string),
 * its height (1 + the highest parent's), and the root of the document tree after it. Content-addressed, so
 * it carries no version of its own: the header of the file holding it does (see file.ts).
 */
export interface ClockEvent {
  p: CID[]
  h: number
  r: CID
}

export function encodeEvent(parents: CID[], height: number, root: CID): Promise<Block<ClockEvent>> {
  return encodeBlock<ClockEvent>({ p: [...parents].sort(compareCids), h: height, r: root })
}

const checked = new WeakSet<object>()

/** The decoded value of block `cid` as a clock event, or an IntegrityError naming the block. */
export function decodeEvent(value: unknown, cid: CID | string): ClockEvent {
  if (value !== null && typeof value === 'object' && checked.has(value)) return value as ClockEvent
  const event = value as Partial<ClockEvent> | null
  const ok =
    event !== null &&
    typeof event === 'object' &&
    Array.isArray(event.p) &&
    event.p.every((parent) => CID.asCID(parent) !== null) &&
    Number.isInteger(event.h) &&
    CID.asCID(event.r) !== null
  if (!ok) throw new IntegrityError(String(cid), 'block is not a clock event { p: parents, h: height, r: root }')
  checked.add(event)
  return event as ClockEvent
}

export function compareCids(a: CID, b: CID): number {
  const x = a.toString()
  const y = b.toString()
  return x < y ? -1 : x > y ? 1 : 0
}
