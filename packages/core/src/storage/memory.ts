import { localPeers } from './local-peers.js'
import type { Storage } from './api.js'

/** Process-local storage. Instances with the same name share contents until the process ends. */
const shared = new Map<string, { files: Map<string, Uint8Array>; records: Map<string, Uint8Array> }>()

export function memoryStorage(name: string, options: { dir?: string } = {}): Storage {
  const scope = `${options.dir ?? ''}/${name}`
  let state = shared.get(scope)
  if (!state) {
    state = { files: new Map(), records: new Map() }
    shared.set(scope, state)
  }
  const { files, records } = state
  const location = `memory:${scope}`
  const peers = localPeers(location)
  // An instance opened while another runs a whileAlone task (a compaction) waits for it.
  const gate = async () => {
    const busy = peers.ready()
    if (busy) await busy
  }
  return {
    location,
    async readFile(cid) {
      await gate()
      return files.get(cid)
    },
    async writeFile(cid, bytes) {
      await gate()
      if (!files.has(cid)) files.set(cid, bytes.slice())
    },
    async deleteFile(cid) {
      await gate()
      files.delete(cid)
    },
    async listFiles() {
      await gate()
      return [...files.keys()]
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
      const next = change(records.get(key))
      if (next === undefined) return records.get(key)
      records.set(key, next.slice())
      peers.announce(key)
      return records.get(key)
    },
    async deleteRecord(key) {
      await gate()
      records.delete(key)
      peers.announce(key)
    },
    watch: (listener) => peers.watch(listener),
    whileAlone: (task) => peers.whileAlone(task),
    async close() {
      peers.close()
    },
  }
}
