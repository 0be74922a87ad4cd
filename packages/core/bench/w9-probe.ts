import { mkdtempSync, readFileSync, readdirSync, statSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '@proj/core'
const durability = process.argv[2] ?? 'power'
const written = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1])
const doc = (i: number, p = 'doc') => ({ _id: `${p}-${String(i).padStart(7, '0')}`, n: i, title: `item ${i}: apple and pear`, done: i % 2 === 0, owner: `user-${i % 100}`, tags: ['alpha', 'beta'], body: 'x'.repeat(72) })
const dir = mkdtempSync(join(tmpdir(), 'w9-'))
let db = database('bench', { dir, durability } as any)
for (let i = 0; i < 10000; i += 1000) await db.bulk(Array.from({ length: 1000 }, (_, k) => doc(i + k)))
await db.close()
db = database('bench', { dir, durability } as any)
await db.get('doc-0000001')
const files = () => new Set(readdirSync(join(dir, 'bench', 'files')))
const per: number[] = []; const sizes: number[] = []
for (let i = 0; i < 50; i++) {
  const f0 = files(); const w0 = written()
  await db.put(doc(i, 'single'))
  per.push(written() - w0)
  for (const f of files()) if (!f0.has(f)) sizes.push(statSync(join(dir, 'bench', 'files', f)).size)
}
per.sort((a, b) => a - b); sizes.sort((a, b) => a - b)
console.log({ durability, medianWchar: per[25], p90: per[45], fileMedian: sizes[25], files: sizes.length })
console.log(readdirSync(join(dir, 'bench')))
await db.close(); rmSync(dir, { recursive: true })
