import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Storage } from './api.js'

/**
 * Files under `<dir>/<name>/`: `files/<cid>` (immutable stored files) and `records/<name>` (meta, keybag,
 * outbox). A record is written to a temp file, fsync'd, renamed into place and its folder fsync'd, so a crash
 * at any point leaves the old or the new record.
 */
export function nodeFileStorage(name: string, options: { dir?: string } = {}): Storage {
  const root = resolve(options.dir ?? '.proj-data', name)
  const filesDir = join(root, 'files')
  const recordsDir = join(root, 'records')
  mkdirSync(filesDir, { recursive: true })
  mkdirSync(recordsDir, { recursive: true })

  async function atomicWrite(dir: string, fileName: string, bytes: Uint8Array): Promise<void> {
    const temp = join(dir, `.${fileName}.${randomBytes(6).toString('hex')}.tmp`)
    const handle = await open(temp, 'w')
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, join(dir, fileName))
    const dirHandle = await open(dir, 'r')
    try {
      await dirHandle.sync()
    } finally {
      await dirHandle.close()
    }
  }

  async function readOrUndefined(path: string): Promise<Uint8Array | undefined> {
    try {
      const buffer = await readFile(path)
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  return {
    location: root,
    readFile: (cid) => readOrUndefined(join(filesDir, cid)),
    // Stored files need no temp file: a torn write cannot hash to its name, every read verifies the hash,
    // and the head that names a file is written only after the file is fsync'd.
    async writeFile(cid, bytes) {
      let handle
      try {
        handle = await open(join(filesDir, cid), 'wx')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return
        throw error
      }
      try {
        await handle.writeFile(bytes)
        await handle.sync()
      } finally {
        await handle.close()
      }
    },
    async deleteFile(cid) {
      await rm(join(filesDir, cid), { force: true })
    },
    async listFiles() {
      return (await readdir(filesDir)).filter((f) => !f.startsWith('.'))
    },
    readRecord: (record) => readOrUndefined(join(recordsDir, record)),
    writeRecord: (record, bytes) => atomicWrite(recordsDir, record, bytes),
    async deleteRecord(record) {
      await unlink(join(recordsDir, record)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
    },
    async close() {},
  }
}
