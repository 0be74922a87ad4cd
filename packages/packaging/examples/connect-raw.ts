// The connect-raw README example: two functions over a Map replicate a database to a second device.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '@proj/core'
import { connect, type RawFunctions, type RawParams } from '@proj/connect-raw'
import { createStoreServer } from '@proj/connect-raw/server'

const objects = new Map<string, Uint8Array>()
const key = ({ type, name, car, branch }: RawParams) => `${name}/${type}/${car ?? branch}`
const fns: RawFunctions = {
  upload: async (bytes, params) => void objects.set(key(params), bytes),
  download: async (params) => objects.get(key(params)),
}

const db = database('todos', { dir: mkdtempSync(join(tmpdir(), 'stranger-raw-a-')) })
await db.put({ _id: 'milk', done: false })
const sync = connect.raw(db, fns)
await sync.flush()

const other = database('todos', { dir: mkdtempSync(join(tmpdir(), 'stranger-raw-b-')), key: await db.exportKey() })
const otherSync = connect.raw(other, fns)
await otherSync.ready
const doc = await other.get('milk')
if (doc['done'] !== false) throw new Error(`replicated ${JSON.stringify(doc)}`)
if (typeof createStoreServer !== 'function') throw new Error('@proj/connect-raw/server has no createStoreServer')

await Promise.all([sync.close(), otherSync.close()])
await Promise.all([db.close(), other.close()])
console.log('ok @proj/connect-raw')
