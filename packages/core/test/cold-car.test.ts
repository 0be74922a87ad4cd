import { CarBufferReader } from '@ipld/car/buffer-reader'
import * as CarBufferWriter from '@ipld/car/buffer-writer'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { IntegrityError } from '../src/errors.js'
import { encodeBlock, type Block } from '../src/format/block.js'
import { decodeCar, encodeCar, verifyBlock, type FileHeader } from '../src/format/file.js'
import { damagedCopies, seededRandom as rng } from './helpers.js'

// decodeCar reads the files this database writes in one pass of its own; what it reads must be what
// @ipld/car's reader reads (same roots, same block CIDs and bytes), and what that reader refuses it must refuse.

/** decodeCar as it was, on @ipld/car's reader alone: the reference. */
async function decodeCarWithLibrary(bytes: Uint8Array, label: string) {
  let reader: CarBufferReader
  try {
    reader = CarBufferReader.fromBytes(bytes)
  } catch (error) {
    throw new IntegrityError(label, `not a CAR file (${(error as Error).message})`)
  }
  const [root] = reader.getRoots()
  if (!root) throw new IntegrityError(label, 'CAR file has no root')
  let header: unknown
  const blocks: { cid: CID; bytes: Uint8Array }[] = []
  for (const { cid, bytes: blockBytes } of reader.blocks()) {
    if (cid.equals(root)) header = (await verifyBlock({ cid, bytes: blockBytes }, label)).value
    else blocks.push({ cid, bytes: blockBytes })
  }
  if (!header) throw new IntegrityError(label, 'missing file header')
  return { header, blocks }
}

async function outcome(read: () => Promise<{ header: unknown; blocks: { cid: CID; bytes: Uint8Array }[] }>) {
  try {
    const { header, blocks } = await read()
    return { header, blocks: blocks.map(({ cid, bytes }) => [cid.toString(), Buffer.from(bytes).toString('hex')]) }
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` }
  }
}

async function expectSameAsLibrary(bytes: Uint8Array): Promise<void> {
  const expected = await outcome(() => decodeCarWithLibrary(bytes, 'file x'))
  const got = await outcome(() => decodeCar(bytes, 'file x'))
  if (!isDeepStrictEqual(got, expected)) expect(got, Buffer.from(bytes).toString('hex')).toStrictEqual(expected)
  if ('error' in got) await expect(decodeCar(bytes, 'file x')).rejects.toThrow(IntegrityError)
}

async function randomBlocks(r: () => number): Promise<Block[]> {
  const blocks: Block[] = []
  const count = Math.floor(r() * 6)
  for (let i = 0; i < count; i++) {
    if (r() < 0.3) {
      const bytes = Uint8Array.from({ length: r() < 0.2 ? 0 : Math.floor(r() * 300) }, () => Math.floor(r() * 256))
      blocks.push({ cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes, value: bytes })
    } else {
      blocks.push(await encodeBlock({ e: [[`doc-${i}`, i, { n: r() }]], l: 0 }))
    }
  }
  return blocks
}

async function randomFile(r: () => number): Promise<Uint8Array> {
  const blocks = await randomBlocks(r)
  const header: FileHeader = {
    v: 2,
    heads: blocks.slice(0, 1).map(({ cid }) => cid),
    locations: blocks.length > 1 ? [[blocks[1]!.cid, blocks.slice(2).map(({ cid }) => cid)]] : [],
  }
  return encodeCar(header, blocks)
}


describe('decodeCar', () => {
  it('reads the files this database writes as @ipld/car reads them', async () => {
    const r = rng(21)
    for (let i = 0; i < 300; i++) await expectSameAsLibrary(await randomFile(r))
  })

  it('refuses, or reads as @ipld/car does, 3 000 damaged files', async () => {
    const r = rng(22)
    for (let i = 0; i < 500; i++) for (const copy of damagedCopies(r, await randomFile(r), [1, 0x55])) await expectSameAsLibrary(copy)
  })

  it('reads as @ipld/car does a CAR this database does not write: CIDv0 blocks, several roots, extra header keys', async () => {
    const header = await encodeBlock({ v: 2, heads: [], locations: [] })
    const v0 = CID.createV0(await sha256.digest(Uint8Array.of(1)))
    const cars: Uint8Array[] = []
    const writer = CarBufferWriter.createWriter(new ArrayBuffer(1024), { roots: [header.cid, v0] })
    writer.write(header)
    writer.write({ cid: v0, bytes: Uint8Array.of(1) })
    cars.push(writer.close())
    const headerBytes = (value: unknown) => {
      const encoded = dagCbor.encode(value)
      return Uint8Array.of(encoded.length, ...encoded)
    }
    const section = Uint8Array.of(header.cid.bytes.length + header.bytes.length, ...header.cid.bytes, ...header.bytes)
    for (const value of [{ version: 1, roots: [header.cid], extra: 1 }, { version: 2, roots: [header.cid] }, { version: 1, roots: [] }, { version: 1 }]) {
      cars.push(Uint8Array.of(...headerBytes(value), ...section))
    }
    // A section length written in more bytes than needed.
    const padded = Uint8Array.of(...headerBytes({ version: 1, roots: [header.cid] }), section[0]! | 0x80, 0, ...section.subarray(1))
    cars.push(padded, new Uint8Array(0), Uint8Array.of(0))
    for (const car of cars) await expectSameAsLibrary(car)
    expect((await decodeCar(cars[0]!, 'x')).header).toEqual({ v: 2, heads: [], locations: [] })
  })
})
