import type { Database, Sync, SyncOptions } from '@proj/core'
import type { Connector, MetaStore } from '@proj/core/connector'
import { ipfsFiles, type IpfsFilesOptions } from './files.js'
import { ReadOnlyError, snapshotConnector, type SnapshotConnectorOptions } from './snapshot.js'

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
    upload: (db, cid, bytes) => files.upload(db, cid, bytes),
    download: (db, cid) => files.download(db, cid),
    async save(db, branch, entry, replaces) {
      if (!meta) {
        throw new ReadOnlyError(
          `The IPFS connector has no meta store: cannot save meta entry ${entry?.cid} on branch ${JSON.stringify(branch)} ` +
            `(pass \`meta\`, or publish a snapshot with createSnapshot())`,
        )
      }
      return meta.save(db, branch, entry, replaces)
    },
    async load(db, branch) {
      return meta ? meta.load(db, branch) : []
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

export const connect = {
  /**
   * Replicates `db` through IPFS: `{ client, gateway, meta? }` writes through w3up, `{ gateway, snapshot }`
   * reads a published snapshot. The other options (`branch`, `pollInterval`, …) go to `db.connect`.
   */
  ipfs(db: Pick<Database, 'connect'>, options: ConnectIpfsOptions & SyncOptions): Sync {
    if (!db || typeof db.connect !== 'function') throw new TypeError(`Invalid database: ${String(db)}`)
    const { client, gateway, meta, snapshot, fetch, ...syncOptions } = options as Partial<IpfsConnectorOptions> &
      Partial<SnapshotConnectorOptions> &
      SyncOptions
    void client, gateway, meta, fetch
    const connector =
      snapshot !== undefined
        ? snapshotConnector(options as SnapshotConnectorOptions)
        : ipfsConnector(options as IpfsConnectorOptions)
    return db.connect(connector, syncOptions)
  },
}
