import { CarBufferReader } from '@ipld/car/buffer-reader'
import { equals } from 'multiformats/bytes'
import { sha256 } from 'multiformats/hashes/sha2'
import { varint } from 'multiformats'
import { FormatVersionError, IntegrityError } from '../errors.js'
import { CID, decodeBlock, encodeBlock, encodeBlockNow, type Block } from './block.js'
import { cidV1 } from '../kit/sha256-cid.js'
import { decodeWithoutLibrary } from './dag-cbor-decode.js'
import { encodeDagCbor } from './dag-cbor-encode.js'
import { cborLink, joinParts } from './cbor-items.js'

/**
 * The plaintext of a stored file: a CARv1 whose one root is this header block, followed by the blocks of one
 * transaction (clock events, tree nodes). The header's `v` versions the file: its layout and the shape of
 * every block in it (events and tree nodes are content-addressed and carry no version of their own).
 * Version 2 adds delta clock events (format/event.ts); its layout is version 1's, and readers read both.
 * Transaction files are written as version 2; files that hold no clock event (attachment chunks, key
 * epochs) keep version 1, whose shapes they still are.
 */
export const FILE_VERSION = 2

/**
 * The root block of every file: the clock heads after the transaction, and where each block that a block of
 * this file links to lives when it is not in this file. With it a reader that starts from the newest file
 * finds every older block without opening other files first.
 */
export interface FileHeader {
  v: 1 | 2
  heads: CID[]
  /**
   * [file CID, blocks of that file linked from this one]. An empty list names a file that must be copied
   * along with this one although nothing links into it (a compaction's last file names the files it kept
   * because a backend lacked them).
   */
  locations: [CID, CID[]][]
  /**
   * Optional, same shape: where older clock events this file's events descend from live, when they are not
   * linked from this file (a compaction leaves parents out of its links so that the current state never
   * needs a file written before it). Readers use it to walk history; copying the state never follows it.
   * Files without it (all files before it existed) read as before.
   */
  history?: [CID, CID[]][]
}

export async function encodeCar(header: FileHeader, blocks: readonly Block[]): Promise<Uint8Array> {
  return carUnder(await encodeBlock(header), blocks)
}

/** `encodeCar` done before returning, or undefined where hashing answers with a promise (WebCrypto). */
export function encodeCarNow(header: FileHeader, blocks: readonly Block[]): Uint8Array | undefined {
  const headerBlock = encodeBlockNow(header)
  return headerBlock && carUnder(headerBlock, blocks)
}

function carUnder(headerBlock: Block, blocks: readonly Block[]): Uint8Array {
  const all: Block[] = [headerBlock]
  for (let i = 0; i < blocks.length; i++) all.push(blocks[i]!)
  return writeCar(headerBlock.cid, all)
}

/**
 * The CARv1 bytes of `blocks` under one root: the bytes @ipld/car's CarBufferWriter writes
 * (`format.test.ts` compares them), in one pass. The library's writer encodes its header twice with cborg,
 * once to size the buffer and once to write it, which cost more than the rest of a small file's encoding.
 */
export function writeCar(root: CID, blocks: readonly Block[]): Uint8Array {
  const carHeader = carHeaderBytes(root)
  let size = varint.encodingLength(carHeader.length) + carHeader.length
  // Indexed loops: a single put writes a CAR before the JIT has optimized this, and unoptimized for-of
  // allocates an iterator result per block.
  for (let i = 0; i < blocks.length; i++) {
    const length = blocks[i]!.cid.bytes.length + blocks[i]!.bytes.length
    size += varint.encodingLength(length) + length
  }
  const out = new Uint8Array(size)
  varint.encodeTo(carHeader.length, out, 0)
  let offset = varint.encodingLength(carHeader.length)
  out.set(carHeader, offset)
  offset += carHeader.length
  for (let i = 0; i < blocks.length; i++) {
    const { cid, bytes } = blocks[i]!
    const length = cid.bytes.length + bytes.length
    varint.encodeTo(length, out, offset)
    offset += varint.encodingLength(length)
    out.set(cid.bytes, offset)
    offset += cid.bytes.length
    out.set(bytes, offset)
    offset += bytes.length
  }
  return out
}

/** dag-cbor `{ roots: [root], version: 1 }` ("roots" sorts first: shorter), written directly for one root. */
function carHeaderBytes(root: CID): Uint8Array {
  const link = cborLink(root)
  return link ? joinParts([CAR_HEADER_ROOTS, link, CAR_HEADER_VERSION]) : encodeDagCbor({ version: 1, roots: [root] })
}

/** map(2), text "roots", array(1); then (after the link) text "version", 1. */
const CAR_HEADER_ROOTS = Uint8Array.of(0xa2, 0x65, 0x72, 0x6f, 0x6f, 0x74, 0x73, 0x81)
const CAR_HEADER_VERSION = Uint8Array.of(0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x01)

/** A block as read from a file: not yet verified against its CID, nor decoded. */
export interface RawBlock {
  readonly cid: CID
  readonly bytes: Uint8Array
}

/**
 * Parses a CAR: the header is verified, decoded and checked now; the other blocks come back raw, to be
 * verified (`verifyBlock`) and decoded when first used, so opening a large file costs only what is read from
 * it. `label` (the file's CID) names the file in errors.
 */
export async function decodeCar(
  bytes: Uint8Array,
  label: string,
  options: { headerOnly?: boolean } = {},
): Promise<{ header: FileHeader; blocks: RawBlock[] }> {
  const car = readCar(bytes) ?? readCarWithLibrary(bytes, label)
  const root = car.roots[0]
  if (!root) throw new IntegrityError(label, 'CAR file has no root')
  let header: FileHeader | undefined
  const blocks: RawBlock[] = []
  for (const block of car.blocks) {
    if (block.cid.equals(root)) {
      header = checkHeader((await verifyBlock(block, label)).value, label)
    } else if (!options.headerOnly) {
      blocks.push(block)
    }
  }
  if (!header) throw new IntegrityError(label, 'missing file header')
  return { header, blocks }
}

interface ParsedCar {
  roots: CID[]
  blocks: RawBlock[]
}

function readCarWithLibrary(bytes: Uint8Array, label: string): ParsedCar {
  let reader: CarBufferReader
  try {
    reader = CarBufferReader.fromBytes(bytes)
  } catch (error) {
    throw new IntegrityError(label, `not a CAR file (${(error as Error).message})`)
  }
  return { roots: reader.getRoots(), blocks: reader.blocks().map(({ cid, bytes }) => ({ cid: CID.asCID(cid) ?? cid, bytes })) }
}

/**
 * The CARv1 as `writeCar` writes it — a `{ roots, version: 1 }` header, then sections of a CIDv1 of sha2-256
 * with a one-byte codec and the block's bytes — read in one pass; undefined for anything else (another CID
 * kind, a CARv2, a damaged file), which the library then reads or refuses. Same CIDs and block bytes as the
 * library's reader (`cold-car.test.ts`), without its per-section varint parsing and CID re-encoding: a cold
 * open reads a few files of a few hundred blocks each.
 */
function readCar(bytes: Uint8Array): ParsedCar | undefined {
  let at = 0
  const varint = (): number => {
    let value = 0
    for (let shift = 0; shift < 28; shift += 7) {
      if (at >= bytes.length) return -1
      const byte = bytes[at++]!
      value += (byte & 0x7f) * 2 ** shift
      // The shortest form only (a last byte of 0 after others is padding): anything else is the library's.
      if (byte < 0x80) return byte === 0 && shift > 0 ? -1 : value
    }
    return -1
  }
  const headerLength = varint()
  if (headerLength <= 0 || headerLength > bytes.length - at) return undefined
  const header = decodeWithoutLibrary(bytes.subarray(at, at + headerLength)) as { version?: unknown; roots?: unknown } | symbol
  at += headerLength
  if (typeof header !== 'object' || header === null || Object.keys(header).length !== 2 || header.version !== 1) return undefined
  const roots = header.roots
  if (!Array.isArray(roots) || !roots.every((root) => root instanceof CID)) return undefined
  const blocks: RawBlock[] = []
  while (at < bytes.length) {
    const length = varint()
    const start = at
    if (length < CID_V1_SHA256_LENGTH || length > bytes.length - start) return undefined
    if (bytes[start] !== 1 || bytes[start + 1]! >= 0x80 || bytes[start + 2] !== sha256.code || bytes[start + 3] !== 32) return undefined
    at = start + length
    blocks.push({ cid: cidV1(bytes.slice(start, start + CID_V1_SHA256_LENGTH)), bytes: bytes.subarray(start + CID_V1_SHA256_LENGTH, at) })
  }
  return { roots: roots as CID[], blocks }
}

/** A CIDv1 of sha2-256 with a one-byte codec: version, codec, hash code, digest length, 32 bytes of digest. */
const CID_V1_SHA256_LENGTH = 36

function checkHeader(value: unknown, label: string): FileHeader {
  const header = value as Partial<FileHeader> | null
  const v = header !== null && typeof header === 'object' ? (header.v as unknown) : undefined
  if (typeof v === 'number' && Number.isInteger(v) && v > FILE_VERSION) {
    throw new FormatVersionError(`The file ${label}`, v, FILE_VERSION)
  }
  if (v !== 1 && v !== FILE_VERSION) throw new IntegrityError(label, 'missing or unknown file header')
  const ok =
    Array.isArray(header!.heads) &&
    header!.heads.every((cid) => CID.asCID(cid) !== null) &&
    isLocations(header!.locations) &&
    (header!.history === undefined || isLocations(header!.history))
  if (!ok) throw new IntegrityError(label, 'file header is not { v, heads, locations, history? }')
  return header as FileHeader
}

function isLocations(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        CID.asCID(pair[0]) !== null &&
        Array.isArray(pair[1]) &&
        (pair[1] as unknown[]).every((cid) => CID.asCID(cid) !== null),
    )
  )
}

/** Verifies a block's bytes against its CID, then decodes it. `label` names the file it came from. */
export async function verifyBlock<T>(block: RawBlock, label: string): Promise<Block<T>> {
  const { cid, bytes } = await verifyBytes(block, label)
  return decodeBlock<T>(cid, bytes)
}

/** `block` once its bytes hash to its CID (an IntegrityError naming `label` otherwise), not decoded. */
export async function verifyBytes(block: RawBlock, label: string): Promise<RawBlock> {
  const { cid, bytes } = block
  const digest = await sha256.digest(bytes)
  if (cid.multihash.code !== sha256.code || !equals(digest.digest, cid.multihash.digest)) {
    throw new IntegrityError(label, `block ${cid} does not hash to its CID`)
  }
  return { cid: CID.asCID(cid) ?? cid, bytes }
}

/** A stored file's name (and a meta entry's) and its check: the kit's, which connectors use too. */
export { fileCid, fileCidNow, verifyCid as verifyFile } from '../kit/cid.js'
