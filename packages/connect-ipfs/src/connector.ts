import type { Database, Sync, SyncOptions } from '@proj/core'
import type { Connector, MetaStore } from '@proj/core/connector'
import { checkTargetKeys, describe, OptionError, splitConnectOptions } from '@proj/core/kit'
import { ipfsFiles, type IpfsFilesOptions } from './files.js'
import { createSnapshot, ReadOnlyError, snapshotConnector, type SnapshotConnectorOptions } from './snapshot.js'

export interface IpfsConnectorOptions extends IpfsFilesOptions {
  /**
   * Where the meta lives: the meta half of any other connector (PartyKit, S3, MemoryConnector…), since
   * web3.storage holds no mutable pointer. Closed with this connector when it has `close()`. Without it the
   * connector only moves files: `load()` is empty and `save()` rejects (publish snapshots instead).
   */
  meta?: MetaStore & { close?(): Promise<void> }
}

/** Files through w3up and trustless gateways; meta through `options.meta`. */
export function ipfsConnector(options: IpfsConnectorOptions): Connector {
  const files = ipfsFiles(options)
  const { meta } = options
  if (meta !== undefined && (typeof meta?.save !== 'function' || typeof meta.load !== 'function')) {
    throw new TypeError(`Invalid meta store: ${String(meta)} (expected { save, load })`)
  }
  const connector: Connector = {
    name: 'ipfs',
    upload: (db, cid, bytes, call) => files.upload(db, cid, bytes, call),
    download: (db, cid, call) => files.download(db, cid, call),
    async save(db, branch, entry, replaces, call) {
      if (!meta) {
        throw new ReadOnlyError(
          `The IPFS connector has no meta store: cannot save meta entry ${entry?.cid} on branch ${JSON.stringify(branch)} ` +
            `(pass \`meta\`, or publish a snapshot with createSnapshot())`,
        )
      }
      return meta.save(db, branch, entry, replaces, call)
    },
    async load(db, branch, call) {
      return meta ? meta.load(db, branch, call) : []
    },
    async close() {
      await meta?.close?.()
    },
  }
  if (meta?.subscribe) {
    const subscribe = meta.subscribe.bind(meta)
    return { ...connector, subscribe: (db, branch, onEntries) => subscribe(db, branch, onEntries) }
  }
  return connector
}

export type ConnectIpfsOptions = IpfsConnectorOptions | SnapshotConnectorOptions

/** The Sync handle of `connect.ipfs`, plus publishing the current state as a snapshot. */
export interface IpfsSync extends Sync {
  /**
   * Makes everything local durable on IPFS, then publishes the branch's meta entries (sealed with the
   * database key) as one content-addressed file and returns its CID: with the key, the whole state of the
   * database is readable through `connect.ipfs(db, { gateway, snapshot })`, no w3up client needed.
   */
  snapshot(): Promise<string>
}

/**
 * Holds the newest meta entries in memory when web3.storage is the only backend: it has no mutable pointer,
 * so the entries live on this device until `snapshot()` publishes them.
 */
function localMeta(): MetaStore {
  const branches = new Map<string, Map<string, Uint8Array>>()
  const branchOf = (db: string, branch: string) => {
    const key = JSON.stringify([db, branch])
    let entries = branches.get(key)
    if (!entries) branches.set(key, (entries = new Map()))
    return entries
  }
  return {
    async save(db, branch, entry, replaces) {
      const entries = branchOf(db, branch)
      entries.set(entry.cid, entry.bytes.slice())
      for (const cid of replaces) if (cid !== entry.cid) entries.delete(cid)
    },
    async load(db, branch) {
      return [...branchOf(db, branch)].map(([cid, bytes]) => ({ cid, bytes: bytes.slice() }))
    },
  }
}

export const connect = {
  /**
   * Replicates `db` through IPFS: the target `{ client, gateway, meta? }` writes through w3up,
   * `{ gateway, snapshot }` reads a published snapshot. `options` are core's sync options (`branch`,
   * `pollInterval`, …), as for every `connect.*`.
   */
  ipfs(db: Pick<Database, 'connect' | 'name'>, target: ConnectIpfsOptions, options?: SyncOptions): IpfsSync {
    if (!db || typeof db.connect !== 'function') throw new TypeError(`Invalid database: ${String(db)}`)
    if (target === null || typeof target !== 'object') {
      throw new OptionError('connect.ipfs', 'target', `the target must be { client, gateway, meta? } or { gateway, snapshot }, got ${describe(target)}`)
    }
    checkTargetKeys('connect.ipfs', target, ['client', 'gateway', 'meta', 'snapshot', 'fetch'])
    const { sync: syncOptions } = splitConnectOptions<object>('connect.ipfs', options, [])
    const { meta, snapshot } = target as Partial<IpfsConnectorOptions> & Partial<SnapshotConnectorOptions>
    if (snapshot !== undefined) {
      const sync = db.connect(snapshotConnector(target as SnapshotConnectorOptions), syncOptions)
      return Object.assign(sync, {
        snapshot: async () => snapshot,
      })
    }
    const metaStore = meta ?? localMeta()
    const files = ipfsFiles(target as IpfsConnectorOptions)
    const sync = db.connect(ipfsConnector({ ...(target as IpfsConnectorOptions), meta: metaStore }), syncOptions)
    return Object.assign(sync, {
      async snapshot() {
        await sync.flush()
        const entries = await metaStore.load(db.name, syncOptions.branch ?? 'main')
        return createSnapshot(files, entries, db.name)
      },
    })
  },
}
