// @proj/connector-tests outside vitest: MemoryConnector peers share one backend, like two devices and a server.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '@proj/core'
import { MemoryConnector, runConnectorTests } from '@proj/connector-tests'

const connector = new MemoryConnector()
const db = database('todos', { dir: mkdtempSync(join(tmpdir(), 'stranger-memory-a-')) })
await db.put({ _id: 'bread', done: true })
const sync = db.connect(connector)
await sync.flush()

const other = database('todos', { dir: mkdtempSync(join(tmpdir(), 'stranger-memory-b-')), key: await db.exportKey() })
const otherSync = other.connect(connector.peer())
await otherSync.ready
const doc = await other.get('bread')
if (doc['done'] !== true) throw new Error(`replicated ${JSON.stringify(doc)}`)
if (typeof runConnectorTests !== 'function') throw new Error('runConnectorTests missing')

await Promise.all([sync.close(), otherSync.close()])
await Promise.all([db.close(), other.close()])
console.log('ok @proj/connector-tests')
