import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Connector, MetaEntry } from '../src/connector/api.js'

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException)?.code === 'ENOENT'

/**
 * A backend in a directory, shared by processes (a child killed with SIGKILL and the test): files and meta
 * entries are written to a temp name and renamed into place, so a reader sees a whole one or none. (The real
 * directory connector lives in @proj/connect-raw, which depends on core.)
 */
export function dirBackend(dir: string): Connector {
  const tmp = join(dir, '.tmp')
  mkdirSync(tmp, { recursive: true })
  const place = async (path: string, bytes: Uint8Array) => {
    const temp = join(tmp, randomBytes(12).toString('hex'))
    await writeFile(temp, bytes)
    await rename(temp, path)
  }
  const files = (db: string) => join(dir, db, 'data')
  const entries = (db: string, branch: string) => join(dir, db, 'meta', branch)
  return {
    name: 'dir',
    async upload(db, cid, bytes) {
      mkdirSync(files(db), { recursive: true })
      await place(join(files(db), cid), bytes)
    },
    async download(db, cid) {
      try {
        return new Uint8Array(await readFile(join(files(db), cid)))
      } catch (error) {
        if (isMissing(error)) return undefined
        throw error
      }
    },
    async save(db, branch, entry, replaces) {
      mkdirSync(entries(db, branch), { recursive: true })
      await place(join(entries(db, branch), entry.cid), entry.bytes)
      for (const cid of replaces) if (cid !== entry.cid) await rm(join(entries(db, branch), cid), { force: true })
    },
    async load(db, branch) {
      let names: string[]
      try {
        names = await readdir(entries(db, branch))
      } catch (error) {
        if (isMissing(error)) return []
        throw error
      }
      const loaded: MetaEntry[] = []
      for (const cid of names) {
        try {
          loaded.push({ cid, bytes: new Uint8Array(await readFile(join(entries(db, branch), cid))) })
        } catch (error) {
          if (!isMissing(error)) throw error
        }
      }
      return loaded
    },
  }
}
