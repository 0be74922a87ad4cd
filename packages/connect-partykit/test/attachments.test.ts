// Attachments end to end through connect.partykit against the real `partykit dev`: a 5 MB file put on device A
// is read on a fresh device B (file() and stream()); a byte flipped in a stored chunk, in the room's own
// storage (workerd's SQLite file under --persist), is refused on B.
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, inject, it } from 'vitest'
import { expectAttachmentReadsBack, seededBytes } from '@proj/test-utils'
import { database, IntegrityError, isPermanentError, type Attachment, type Database, type Sync } from '@proj/core'
import { connect } from '../src/index.js'
import { startPartykit } from './partykit-dev.js'

const MiB = 1 << 20
const host = inject('partykitHost')
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})


/** A database in a temp dir of its own, synced through `server`; both closed (and the dir removed) after the test. */
async function device(name: string, server: string, key?: string): Promise<{ db: Database; sync: Sync }> {
  const dir = await mkdtemp(join(tmpdir(), 'proj-partykit-attachments-'))
  const db = database(name, key === undefined ? { dir } : { dir, key })
  const sync = connect.partykit(db, server, { pollInterval: 0, flushTimeout: 30_000 })
  cleanups.push(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }, () => sync.close())
  await sync.ready
  return { db, sync }
}

const attachment = async (db: Database, id: string, name: string) =>
  ((await db.get(id))._files as Record<string, Attachment>)[name]!

/** Runs `sql` (on stdin) with the sqlite3 shell on `file`; its output, trimmed. */
function sqlite(file: string, sql: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('sqlite3', [file], { maxBuffer: 16 * MiB }, (error, stdout, stderr) =>
      error ? reject(new Error(`sqlite3 ${file}: ${stderr || error.message}`)) : resolve(stdout.trim()),
    )
    child.stdin!.end(sql)
  })
}

it('a 5 MB file put on A is read whole and streamed on a fresh device B', async () => {
  const name = `photos-${crypto.randomUUID()}`
  const a = await device(name, host)
  const data = seededBytes(5 * MiB + 77, 1)
  await a.db.put({ _id: 'clip', _files: { 'clip.mp4': new File([data as BlobPart], 'x', { type: 'video/mp4' }) } })
  await a.sync.flush()

  const b = await device(name, host, await a.db.exportKey())
  await b.sync.refresh()
  const clip = await attachment(b.db, 'clip', 'clip.mp4')
  await expectAttachmentReadsBack(clip, data, 'video/mp4', [MiB, MiB, MiB, MiB, MiB, 77])
})

it('a byte flipped in a chunk in the room storage is an IntegrityError on B, permanent', async () => {
  // A server of its own: it is stopped to edit its storage.
  const server = await startPartykit()
  cleanups.push(() => server.stop())
  const name = `flip-${crypto.randomUUID()}`
  const a = await device(name, server.url)
  await a.db.put({ _id: 'p', _files: { 'a.bin': { data: seededBytes(2 * MiB, 2), type: 'application/x' } } })
  await a.sync.flush()
  await a.sync.close()
  await server.stop(false)

  // The room's SQLite file holds each stored file as 100 KiB values `file:<cid>:<i>`; the chunk files of the
  // attachment are the ones past 500 KiB (the transaction file is small).
  const folder = join(server.persist, 'party', '-PartyKitDurable')
  const rooms = (await readdir(folder)).filter((file) => file.endsWith('.sqlite')).map((file) => join(folder, file))
  let flipped: { room: string; key: string } | undefined
  for (const room of rooms) {
    const key = await sqlite(room, "SELECT key FROM _cf_KV WHERE key LIKE 'file:%:5' LIMIT 1")
    if (key) flipped = { room, key }
  }
  expect(flipped, `no chunk file in ${rooms.join(', ')}`).toBeDefined()
  const { room, key } = flipped!
  // Byte 5000 of the value (past the serialization header) XOR 1, the value written back whole (SQL on stdin:
  // too long for an argument).
  const value = Buffer.from(await sqlite(room, `SELECT hex(value) FROM _cf_KV WHERE key = '${key}'`), 'hex')
  value[5000]! ^= 0x01
  await sqlite(room, `UPDATE _cf_KV SET value = x'${value.toString('hex')}' WHERE key = '${key}';`)
  expect(await sqlite(room, `SELECT hex(value) FROM _cf_KV WHERE key = '${key}'`)).toBe(value.toString('hex').toUpperCase())
  await server.start()

  const chunk = key.split(':')[1]!
  const b = await device(name, server.url, await a.db.exportKey())
  await b.sync.refresh()
  const failure = await (await attachment(b.db, 'p', 'a.bin')).file().catch((e: unknown) => e)
  // The connector hands the bytes over as they are; core checks them against the chunk's CID before decrypting.
  expect(failure).toBeInstanceOf(IntegrityError)
  expect((failure as Error).message).toContain(chunk)
  expect(isPermanentError(failure)).toBe(true)
})
