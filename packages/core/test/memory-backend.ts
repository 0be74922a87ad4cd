import type { Connector, MetaEntry } from '../src/connector/api.js'

/** A shared in-process backend; each call returns a client of it (the real MemoryConnector lives in
 * @proj/connector-tests, which depends on core, so core's own tests use this one). */
export function memoryBackend(): () => Connector {
  const files = new Map<string, Uint8Array>()
  const meta = new Map<string, MetaEntry[]>()
  return () => ({
    name: 'memory',
    async upload(db, cid, bytes) {
      files.set(`${db}/${cid}`, bytes.slice())
    },
    async download(db, cid) {
      return files.get(`${db}/${cid}`)?.slice()
    },
    async save(db, branch, entry, replaces) {
      const key = `${db}/${branch}`
      const list = (meta.get(key) ?? []).filter((e) => e.cid !== entry.cid && !replaces.includes(e.cid))
      meta.set(key, [...list, entry])
    },
    async load(db, branch) {
      return [...(meta.get(`${db}/${branch}`) ?? [])]
    },
  })
}
