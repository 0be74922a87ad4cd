import { IntegrityError } from '../errors.js'
import { blockOfBytes, blockOfBytesNow, CID, encodeBlock, encodeBlockNow, type Block } from './block.js'
import { cborHead, cborLink, encodedItem, joinParts } from './cbor-items.js'
import { encodeDagCbor } from './dag-cbor-encode.js'
import { isEntry, type Entry } from './tree-node.js'

/**
 * A Merkle clock event, a dag-cbor block of one of two shapes (both content-addressed, so they carry no
 * version of their own: the header of the file holding them does, see file.ts):
 * - a *checkpoint* `{ p, h, r }`: its parents (the heads it saw, sorted by CID string), its height (1 + the
 *   highest parent's) and the root of the document tree after it (file version 1 and later);
 * - a *delta* `{ p, h, d }` (file version 2 and later): exactly one parent, and the tree entries the
 *   transaction wrote (sorted by id). The tree after it is the parent's tree with those entries applied
 *   (clock/root.ts), so a small write does not rewrite a tree path: the tree is written by the next
 *   checkpoint.
 */
export type ClockEvent = CheckpointEvent | DeltaEvent

export interface CheckpointEvent {
  p: CID[]
  h: number
  r: CID
}

export interface DeltaEvent {
  p: [CID]
  h: number
  d: Entry[]
}

export function isDelta(event: ClockEvent): event is DeltaEvent {
  return (event as DeltaEvent).d !== undefined
}

export function encodeEvent(parents: CID[], height: number, root: CID): Promise<Block<CheckpointEvent>> {
  return encodeBlock<CheckpointEvent>({ p: [...parents].sort(compareCids), h: height, r: root })
}

/** `encodeEvent` done before returning, or undefined where hashing answers with a promise (WebCrypto). */
export function encodeEventNow(parents: CID[], height: number, root: CID): Block<CheckpointEvent> | undefined {
  return encodeBlockNow<CheckpointEvent>({ p: [...parents].sort(compareCids), h: height, r: root })
}

/** `entries` sorted by id, as the transaction applied them to its parent's tree. */
export function encodeDeltaEvent(parent: CID, height: number, entries: Entry[]): Promise<Block<DeltaEvent>> {
  let bytes: Uint8Array
  try {
    bytes = deltaEventBytes(parent, height, entries)
  } catch (error) {
    return Promise.reject(error)
  }
  return blockOfBytes<DeltaEvent>({ p: [parent], h: height, d: entries }, bytes)
}

/** `encodeDeltaEvent` done before returning, or undefined where hashing answers with a promise (WebCrypto). */
export function encodeDeltaEventNow(parent: CID, height: number, entries: Entry[]): Block<DeltaEvent> | undefined {
  return blockOfBytesNow<DeltaEvent>({ p: [parent], h: height, d: entries }, deltaEventBytes(parent, height, entries))
}

/**
 * dag-cbor `{ d: entries, h: height, p: [parent] }` (one-letter keys sort bytewise), its entries' bytes those
 * the next checkpoint's leaves reuse (format/cbor-items.ts).
 */
function deltaEventBytes(parent: CID, height: number, entries: Entry[]): Uint8Array {
  const parts: Uint8Array[] = [DELTA_PREFIX, cborHead(4, entries.length)]
  for (let i = 0; i < entries.length; i++) parts.push(encodedItem(entries[i]!))
  const link = cborLink(parent)
  parts.push(HEIGHT_KEY, height < 2 ** 32 ? cborHead(0, height) : encodeDagCbor(height), PARENTS_KEY)
  parts.push(...(link ? [ONE_ITEM, link] : [encodeDagCbor([parent])]))
  return joinParts(parts)
}

/** map(3), text "d"; text "h"; text "p". */
const DELTA_PREFIX = Uint8Array.of(0xa3, 0x61, 0x64)
const HEIGHT_KEY = Uint8Array.of(0x61, 0x68)
const PARENTS_KEY = Uint8Array.of(0x61, 0x70)
const ONE_ITEM = Uint8Array.of(0x81)

const checked = new WeakSet<object>()

/** The decoded value of block `cid` as a clock event, or an IntegrityError naming the block. */
export function decodeEvent(value: unknown, cid: CID | string): ClockEvent {
  if (value !== null && typeof value === 'object' && checked.has(value)) return value as ClockEvent
  const event = value as Partial<CheckpointEvent & DeltaEvent> | null
  const common =
    event !== null &&
    typeof event === 'object' &&
    Array.isArray(event.p) &&
    event.p.every((parent) => CID.asCID(parent) !== null) &&
    Number.isInteger(event.h)
  const ok =
    common &&
    (event.d === undefined
      ? CID.asCID(event.r) !== null
      : event.r === undefined && event.p!.length === 1 && Array.isArray(event.d) && isSortedEntries(event.d))
  if (!ok) {
    throw new IntegrityError(String(cid), 'block is not a clock event { p: parents, h: height, r: root } or { p: [parent], h: height, d: entries }')
  }
  checked.add(event)
  return event as ClockEvent
}

function isSortedEntries(entries: unknown[]): boolean {
  for (let i = 0; i < entries.length; i++) {
    if (!isEntry(entries[i])) return false
    if (i > 0 && !((entries[i - 1] as Entry)[0] < (entries[i] as Entry)[0])) return false
  }
  return true
}

export function compareCids(a: CID, b: CID): number {
  const x = a.toString()
  const y = b.toString()
  return x < y ? -1 : x > y ? 1 : 0
}
