import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { MetaEntry } from '@proj/core/connector'

/** The name of a stored file: CIDv1, raw codec, sha2-256, as a base32 string ('bafkrei…'). */
export async function fileCid(bytes: Uint8Array): Promise<string> {
  const digest = await sha256.digest(bytes)
  return CID.create(1, raw.code, digest).toString()
}

/** A meta entry whose `cid` is the CID of `bytes`. */
export async function metaEntry(bytes: Uint8Array): Promise<MetaEntry> {
  return { cid: await fileCid(bytes), bytes }
}

/**
 * Throws a TypeError when `cid` is not a CIDv1 (raw, sha2-256) string, and an Error when `bytes` do not hash
 * to it.
 */
export async function verifyCid(cid: string, bytes: Uint8Array): Promise<void> {
  let parsed: CID
  try {
    parsed = CID.parse(cid)
  } catch {
    throw new TypeError(`Invalid CID: ${JSON.stringify(cid)}`)
  }
  if (parsed.version !== 1 || parsed.code !== raw.code || parsed.multihash.code !== sha256.code) {
    throw new TypeError(`Invalid CID: ${JSON.stringify(cid)} (expected CIDv1, raw codec, sha2-256)`)
  }
  if ((await fileCid(bytes)) !== parsed.toString()) {
    throw new Error(`CID hash does not match bytes: ${cid}`)
  }
}
