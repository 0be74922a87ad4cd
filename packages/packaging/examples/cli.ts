// The @proj/cli README: the installed `proj` bin inspects, verifies, dumps and loads a database.
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { database } from '@proj/core'
import { run } from '@proj/cli'

const dir = mkdtempSync(join(tmpdir(), 'stranger-cli-'))
const db = database('todos', { dir })
await db.bulk([{ _id: 'milk', done: false }, { _id: 'bread', done: true }])
await db.del('bread')
await db.close()

const manifest = createRequire(import.meta.url).resolve('@proj/cli/package.json')
const bin = join(dirname(manifest), 'dist', 'proj.js')
const proj = (...args: string[]) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8' })

const inspected = proj('inspect', join(dir, 'todos'))
if (!/^docs +1 live, 1 deleted$/m.test(inspected)) throw new Error(`proj inspect printed ${inspected}`)
const dumped = proj('dump', join(dir, 'todos'))
if (dumped !== '{"_id":"bread","_deleted":true}\n{"_id":"milk","done":false}\n') throw new Error(`proj dump printed ${dumped}`)
const code = await run(['verify', join(dir, 'todos'), '--quiet'])
if (code !== 0) throw new Error(`proj verify exited ${code}`)
console.log('ok @proj/cli')
