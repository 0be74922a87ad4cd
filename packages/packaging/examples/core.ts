// @proj/core from its ESM entry and both subpaths: a database on disk, a write, a read, a clean close.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database, type Database } from '@proj/core'
import type { Connector } from '@proj/core/connector'
import { AuthError, isPermanentError } from '@proj/core/kit'

const db: Database = database('todos', { dir: mkdtempSync(join(tmpdir(), 'stranger-core-')) })
const { id } = await db.put({ title: 'milk', done: false })
const doc = await db.get(id)
if (doc['title'] !== 'milk') throw new Error(`read back ${JSON.stringify(doc)}`)
if (!isPermanentError(new AuthError('example', 'no token'))) throw new Error('AuthError is not permanent')
const connectorName: Connector['name'] = 'typed from @proj/core/connector'
await db.close()
console.log('ok @proj/core', connectorName.length > 0)
