import { fileCid as fileCidOf } from '@proj/core/kit'
import type { MetaEntry } from '@proj/core/connector'

export { verifyCid } from '@proj/core/kit'

/** The name of a stored file as a string ('bafkrei…'): core's `fileCid`, for tests that compare names. */
export async function fileCid(bytes: Uint8Array): Promise<string> {
  return (await fileCidOf(bytes)).toString()
}

/** A meta entry whose `cid` is the CID of `bytes`. */
export async function metaEntry(bytes: Uint8Array): Promise<MetaEntry> {
  return { cid: await fileCid(bytes), bytes }
}
