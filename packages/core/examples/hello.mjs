// The smallest end-to-end use of @proj/core: write, read, query the past, reopen. Run with `npm start`
// (before the todo demo exists) or `node packages/core/examples/hello.mjs` after a build.
import { database } from '@proj/core'
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const dir = resolve(process.env.PROJ_DATA ?? '.proj-data')
const db = database('hello', { dir })

const { clock } = await db.put({ _id: 'greeting', text: 'hello, encrypted world', at: new Date().toISOString() })
await db.bulk([
  { _id: 'todo-1', title: 'milk', done: false },
  { _id: 'todo-2', title: 'bread', done: true },
])
await db.put({ _id: 'greeting', text: 'hello again' })

console.log('get:', await db.get('greeting'))
console.log('open todos:', (await db.query('done', { key: false })).rows.map((row) => row.id))
console.log('at the first clock:', await (await db.at(clock)).get('greeting'))
console.log('changes since then:', (await db.changes(clock)).rows.map((row) => row.key))
const key = await db.exportKey()
await db.close()

const files = readdirSync(join(dir, 'hello', 'files'))
console.log(`\n${files.length} encrypted files (one per transaction) in ${join(dir, 'hello', 'files')}`)
console.log(`key (kept in ${join(dir, 'hello', 'records', 'keybag')}, never in a file): ${key.slice(0, 6)}…`)
