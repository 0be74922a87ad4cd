import { localPeers } from './local-peers.js'
import type { Storage, SynchronousWrites } from './api.js'

interface MemoryState {
  files: Map<string, Uint8Array>
  records: Map<string, Uint8Array>
}

/** Stores opened with an explicit `dir`, kept until the process ends so that a later instance finds them. */
const shared = new Map<string, MemoryState>()
let unnamed = 0

/**
 * Process-local storage. Without `dir` every call gets a fresh, empty store (a second `database()` of the same
 * name is another device, as it would be anywhere else, so a sync through it proves replication). With `dir`,
 * instances of the same name and dir share one store, like two opens of one folder, until the process ends.
 */
export function memoryStorage(name: string, options: { dir?: string } = {}): Storage {
  const fresh = (): MemoryState => ({ files: new Map(), records: new Map() })
  let state: MemoryState
  let location: string
  if (options.dir === undefined) {
    state = fresh()
    location = `memory:${name}#${++unnamed}`
  } else {
    const scope = `${options.dir}/${name}`
    state = shared.get(scope) ?? fresh()
    shared.set(scope, state)
    location = `memory:${scope}`
  }
  const { files, records } = state
  const peers = localPeers(location)
  // An instance opened while another runs a whileAlone task (a compaction) waits for it.
  const gate = async () => {
    const busy = peers.ready()
    if (busy) await busy
  }
  const now: SynchronousWrites = {
    writeFile(cid, bytes) {
      if (!files.has(cid)) files.set(cid, bytes.slice())
    },
    updateRecord(key, change) {
      const next = change(records.get(key))
      if (next === undefined) return records.get(key)
      records.set(key, next.slice())
      peers.announce(key)
      return records.get(key)
    },
  }
  return {
    location,
    async readFile(cid) {
      await gate()
      return files.get(cid)
    },
    async writeFile(cid, bytes) {
      await gate()
      now.writeFile(cid, bytes)
    },
    async deleteFile(cid) {
      await gate()
      files.delete(cid)
    },
    async listFiles() {
      await gate()
      return [...files.keys()]
    },
    async fileSizes() {
      await gate()
      return new Map([...files].map(([cid, bytes]) => [cid, bytes.length]))
    },
    async readRecord(key) {
      await gate()
      return records.get(key)
    },
    async writeRecord(key, bytes) {
      await gate()
      records.set(key, bytes.slice())
      peers.announce(key)
    },
    async updateRecord(key, change) {
      await gate()
      return now.updateRecord(key, change)
    },
    writeNow: () => (peers.ready() ? undefined : now),
    async deleteRecord(key) {
      await gate()
      records.delete(key)
      peers.announce(key)
    },
    async listRecords() {
      await gate()
      return [...records.keys()]
    },
    watch: (listener) => peers.watch(listener),
    whileAlone: (task) => peers.whileAlone(task),
    async close() {
      peers.close()
    },
  }
}
