import { announcer } from './announcer.js'
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
  const peers = announcer(location)
  return {
    location,
    async readFile(cid) {
      return files.get(cid)
    },
    async writeFile(cid, bytes) {
      if (!files.has(cid)) files.set(cid, bytes.slice())
    },
    async deleteFile(cid) {
      files.delete(cid)
    },
    async listFiles() {
      return [...files.keys()]
    },
    async readRecord(key) {
      return records.get(key)
    },
    async writeRecord(key, bytes) {
      records.set(key, bytes.slice())
      peers.announce(key)
    },
    async updateRecord(key, change) {
      const next = change(records.get(key))
      if (next === undefined) return records.get(key)
      records.set(key, next.slice())
      peers.announce(key)
      return records.get(key)
    },
    async deleteRecord(key) {
      records.delete(key)
      peers.announce(key)
    },
    watch: (listener) => peers.watch(listener),
    async close() {
      peers.close()
    },
  }
}
