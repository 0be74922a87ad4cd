import * as dagCbor from '@ipld/dag-cbor'
import type { Connector, FileStore, MetaEntry } from '@proj/core/connector'
import { fileCid, IntegrityError, parseFileCid, verifyCid } from '@proj/core/kit'
import { fetchBlock, gatewayList, type GatewayOptions } from './files.js'

/**
 * Thrown by every write to a read-only connector (a snapshot, or an IPFS connector without a meta store).
 * Permanent: sync reports it once instead of retrying a write that can never succeed.
 */
export class ReadOnlyError extends Error {
  override readonly name = 'ReadOnlyError'
  readonly permanent = true
}

/** The snapshot file: dag-cbor `{ entries: [{ cid, bytes }] }`, stored as a file named by its raw CID. */
interface SnapshotFile {
  entries: { cid: string; bytes: Uint8Array }[]
}

/**
 * Uploads a snapshot of a branch's meta entries (already encrypted by core) as one content-addressed file and
 * returns its CID: the one pointer a reader needs (`snapshotConnector({ gateway, snapshot })`).
 */
export async function createSnapshot(files: FileStore, entries: readonly MetaEntry[], db = ''): Promise<string> {
  if (!files || typeof files.upload !== 'function') throw new TypeError(`Invalid file store: ${String(files)}`)
  if (!Array.isArray(entries)) throw new TypeError(`Invalid entries: ${String(entries)} (expected an array)`)
  const file: SnapshotFile = {
    entries: entries.map((entry) => {
      if (typeof entry?.cid !== 'string' || !(entry.bytes instanceof Uint8Array)) {
        throw new TypeError(`Invalid meta entry: ${String(entry?.cid ?? entry)}`)
      }
      return { cid: entry.cid, bytes: entry.bytes }
    }),
  }
  const bytes = dagCbor.encode(file)
  const cid = (await fileCid(bytes)).toString()
  await files.upload(db, cid, bytes)
  return cid
}

/** Decodes and checks a snapshot file: every entry's bytes must hash to its cid. */
export async function readSnapshot(cid: string, bytes: Uint8Array): Promise<MetaEntry[]> {
  let file: unknown
  try {
    file = dagCbor.decode(bytes)
  } catch (error) {
    throw new Error(`Invalid snapshot ${cid}: not dag-cbor`, { cause: error })
  }
  const entries = (file as Partial<SnapshotFile> | null)?.entries
  if (!Array.isArray(entries)) throw new Error(`Invalid snapshot ${cid}: no entries array`)
  const result: MetaEntry[] = []
  for (const entry of entries as unknown[]) {
    const { cid: entryCid, bytes: entryBytes } = (entry ?? {}) as Partial<MetaEntry>
    if (typeof entryCid !== 'string' || !(entryBytes instanceof Uint8Array)) {
      throw new Error(`Invalid snapshot ${cid}: an entry is not { cid, bytes }`)
    }
    let parsed
    try {
      parsed = parseFileCid(entryCid)
    } catch {
      throw new IntegrityError(cid, `entry ${JSON.stringify(entryCid)} is not a raw CID`)
    }
    await verifyCid(parsed, entryBytes)
    result.push({ cid: entryCid, bytes: entryBytes })
  }
  return result
}

export interface SnapshotConnectorOptions extends GatewayOptions {
  /** The CID returned by `createSnapshot`. */
  snapshot: string
}

/**
 * A read-only connector over a published snapshot: `load()` returns the snapshot's meta entries (for any
 * database and branch), `download()` reads files from the gateways, and every write rejects with
 * ReadOnlyError.
 */
export function snapshotConnector(options: SnapshotConnectorOptions): Connector {
  const snapshot = parseFileCid(options?.snapshot)
  const gateways = gatewayList(options.gateway)
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis)
  let entries: Promise<MetaEntry[]> | undefined

  const readOnly = (what: string) =>
    new ReadOnlyError(`The IPFS snapshot connector (snapshot ${snapshot.toString()}) is read-only: cannot ${what}`)

  const loadEntries = async (): Promise<MetaEntry[]> => {
    const bytes = await fetchBlock(gateways, snapshot, fetchImpl)
    if (!bytes) throw new Error(`Snapshot ${snapshot.toString()} not found on ${gateways.join(', ')}`)
    return readSnapshot(snapshot.toString(), bytes)
  }

  return {
    name: 'ipfs-snapshot',
    async upload(_db, cid) {
      throw readOnly(`upload ${cid}`)
    },
    async download(_db, cid, call) {
      return fetchBlock(gateways, parseFileCid(cid), fetchImpl, call?.signal)
    },
    async save(_db, branch, entry) {
      throw readOnly(`save meta entry ${entry?.cid} on branch ${JSON.stringify(branch)}`)
    },
    async load() {
      // Content-addressed, so one successful read holds forever; a failed read is retried next time. Shared by
      // every load, so no one call's signal ends it: a read sync gave up on runs on until the gateway answers.
      entries ??= loadEntries().catch((error: unknown) => {
        entries = undefined
        throw error
      })
      return (await entries).slice()
    },
  }
}
