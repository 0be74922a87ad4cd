import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Connector, MetaEntry } from '@proj/core/connector'
import { verifyCid } from '@proj/core/kit'
import { encodeListing } from './http.js'
import { checkBranch, checkCid, checkDbName } from './names.js'

/**
 * The on-disk layout, identical to the URL layout of `proj-serve`, so that any static web server can serve it:
 *
 *     <dir>/<db>/data/<cid>               an encrypted file, named by the CID of its bytes
 *     <dir>/<db>/meta/<branch>/<cid>      one meta entry (raw bytes)
 *     <dir>/<db>/meta/<branch>.json       the branch's entries: [{ cid, bytes: base64 }]
 *     <dir>/.tmp/                         temp files, renamed into place (never served)
 */
export const layout = {
  file: (dir: string, db: string, cid: string) => join(dir, db, 'data', cid),
  entries: (dir: string, db: string, branch: string) => join(dir, db, 'meta', branch),
  listing: (dir: string, db: string, branch: string) => join(dir, db, 'meta', `${branch}.json`),
  tmp: (dir: string) => join(dir, '.tmp'),
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException)?.code === 'ENOENT'

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (error) {
    if (isMissing(error)) return false
    throw error
  }
}

/** Writes to a temp file, syncs it, and renames it into place: readers see the old or the new file, never half. */
async function writeAtomic(dir: string, path: string, bytes: Uint8Array | string): Promise<void> {
  const tmpDir = layout.tmp(dir)
  const tmp = join(tmpDir, `${randomBytes(12).toString('hex')}`)
  await mkdir(tmpDir, { recursive: true })
  await mkdir(join(path, '..'), { recursive: true })
  const handle = await open(tmp, 'w')
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
}

// Meta writes of one branch are serialized within this process, so the listing always matches the entries.
// (Entry files are the truth; the listing is rebuilt from them after every save.)
const branchLocks = new Map<string, Promise<unknown>>()

function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = branchLocks.get(key) ?? Promise.resolve()
  const next = previous.then(fn, fn)
  const settled = next.catch(() => {})
  branchLocks.set(key, settled)
  void settled.then(() => {
    if (branchLocks.get(key) === settled) branchLocks.delete(key)
  })
  return next
}

async function readEntries(dir: string, db: string, branch: string): Promise<MetaEntry[]> {
  const folder = layout.entries(dir, db, branch)
  let names: string[]
  try {
    names = await readdir(folder)
  } catch (error) {
    if (isMissing(error)) return []
    throw error
  }
  const entries: MetaEntry[] = []
  for (const cid of names.sort()) {
    try {
      checkCid(cid)
    } catch {
      continue // not an entry
    }
    try {
      entries.push({ cid, bytes: new Uint8Array(await readFile(join(folder, cid))) })
    } catch (error) {
      if (!isMissing(error)) throw error // removed by a concurrent save
    }
  }
  return entries
}

/** A connector that keeps files and meta in a local folder, in the layout `proj-serve` serves. */
export function dirConnector(dir: string): Connector {
  if (typeof dir !== 'string' || dir === '') throw new TypeError(`Invalid directory: ${JSON.stringify(dir)}`)
  const root = resolve(dir)
  return {
    name: 'dir',
    id: `dir:${root}`,
    async upload(db, cid, bytes) {
      checkDbName(db)
      await verifyCid(cid, bytes)
      const path = layout.file(root, db, cid)
      if (await exists(path)) return // immutable: same name, same bytes
      await writeAtomic(root, path, bytes)
    },
    async download(db, cid) {
      checkDbName(db)
      checkCid(cid)
      try {
        return new Uint8Array(await readFile(layout.file(root, db, cid)))
      } catch (error) {
        if (isMissing(error)) return undefined
        throw error
      }
    },
    async save(db, branch, entry, replaces) {
      checkDbName(db)
      checkBranch(branch)
      await verifyCid(entry.cid, entry.bytes)
      for (const cid of replaces) checkCid(cid)
      await withLock(JSON.stringify([root, db, branch]), async () => {
        const folder = layout.entries(root, db, branch)
        const path = join(folder, entry.cid)
        if (!(await exists(path))) await writeAtomic(root, path, entry.bytes)
        for (const cid of replaces) if (cid !== entry.cid) await rm(join(folder, cid), { force: true })
        const entries = await readEntries(root, db, branch)
        await writeAtomic(root, layout.listing(root, db, branch), encodeListing(entries))
      })
    },
    async load(db, branch) {
      checkDbName(db)
      checkBranch(branch)
      return readEntries(root, db, branch)
    },
  }
}
