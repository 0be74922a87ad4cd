import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs'
import { readdir, readFile, rm, unlink } from 'node:fs/promises'
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

  // Writes are synchronous: a write and its fsync take well under a millisecond here, while the same calls
  // through fs/promises cost a threadpool round trip each (measured ~3x slower per transaction).
  const recordsDirFd = openSync(recordsDir, 'r')
  let closed = false

  function writeAll(fd: number, bytes: Uint8Array): void {
    let offset = 0
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset)
  }

  function atomicWriteRecord(fileName: string, bytes: Uint8Array): void {
    const temp = join(recordsDir, `.${fileName}.${randomBytes(6).toString('hex')}.tmp`)
    const fd = openSync(temp, 'w')
    try {
      writeAll(fd, bytes)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, join(recordsDir, fileName))
    fsyncSync(recordsDirFd)
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
      let fd: number
      try {
        fd = openSync(join(filesDir, cid), 'wx')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return
        throw error
      }
      try {
        writeAll(fd, bytes)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
    },
    async deleteFile(cid) {
      await rm(join(filesDir, cid), { force: true })
    },
    async listFiles() {
      return (await readdir(filesDir)).filter((f) => !f.startsWith('.'))
    },
    readRecord: (record) => readOrUndefined(join(recordsDir, record)),
    async writeRecord(record, bytes) {
      atomicWriteRecord(record, bytes)
    },
    async deleteRecord(record) {
      await unlink(join(recordsDir, record)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
    },
    async close() {
      if (closed) return
      closed = true
      closeSync(recordsDirFd)
    },
  }
}
