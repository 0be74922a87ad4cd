import { database } from '@proj/core'
const storage = (process.argv[2] ?? 'file') as 'file' | 'memory'
const db = database('w1', { storage, dir: '/tmp/w1-' + Date.now(), compactEvery: Number(process.argv[3] ?? 100) } as never)
const t = performance.now()
for (let i = 0; i < 1000; i++) await db.put({ _id: `doc-${String(i).padStart(5, '0')}`, title: 'y'.repeat(150), i })
console.log(storage, '1000 single puts ms', (performance.now() - t).toFixed(0))
await db.close()
