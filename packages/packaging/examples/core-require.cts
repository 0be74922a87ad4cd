// A CommonJS program: tsc compiles these imports to require(), which Node >= 20.19 runs on the ESM build.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '@proj/core'
import { isPermanentError, IntegrityError } from '@proj/core/kit'

async function main(): Promise<void> {
  const db = database('todos', { dir: mkdtempSync(join(tmpdir(), 'stranger-require-')) })
  await db.put({ _id: 'milk', done: false })
  const doc = await db.get('milk')
  if (doc['done'] !== false) throw new Error(`read back ${JSON.stringify(doc)}`)
  if (typeof isPermanentError !== 'function' || typeof IntegrityError !== 'function') throw new Error('kit exports missing')
  await db.close()
  console.log('ok require(@proj/core)')
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
