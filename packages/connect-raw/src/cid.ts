import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

/** Bytes that do not hash to the CID they were stored under. Permanent: sending them again cannot help. */
export class CidMismatchError extends Error {
  override readonly name = 'CidMismatchError'
  readonly permanent = true
  constructor(readonly cid: string) {
    super(`CID hash does not match bytes: ${cid}`)
  }
}

/** CIDv1, raw codec, sha2-256, as a base32 string: the name of a stored file or meta entry. */
export async function fileCid(bytes: Uint8Array): Promise<string> {
  return CID.create(1, raw.code, await sha256.digest(bytes)).toString()
}

/** Throws a TypeError unless `cid` is the canonical string of a CIDv1 (raw codec, sha2-256). */
export function checkCid(cid: unknown): asserts cid is string {
  let parsed: CID | undefined
  try {
    if (typeof cid === 'string') parsed = CID.parse(cid)
  } catch {
    parsed = undefined
  }
  if (
    !parsed ||
    parsed.version !== 1 ||
    parsed.code !== raw.code ||
    parsed.multihash.code !== sha256.code ||
    parsed.toString() !== cid
  ) {
    throw new TypeError(`Invalid CID: ${JSON.stringify(cid)} (expected a base32 CIDv1, raw codec, sha2-256)`)
  }
}

/** Throws TypeError for a malformed cid, CidMismatchError when `bytes` do not hash to it. */
export async function verifyCid(cid: string, bytes: Uint8Array): Promise<void> {
  checkCid(cid)
  if ((await fileCid(bytes)) !== cid) throw new CidMismatchError(cid)
}
