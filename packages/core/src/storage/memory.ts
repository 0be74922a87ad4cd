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
  return {
    location: `memory:${scope}`,
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
    },
    async deleteRecord(key) {
      records.delete(key)
    },
    async close() {},
  }
}
