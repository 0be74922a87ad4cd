// Initial replication of a 10k-doc database to an empty device through a real radosgw, and the S3 requests
// it took. Run: cd packages/connect-s3 && node --conditions source --import tsx bench/replication.ts [docs] [txs]
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { database } from '@proj/core'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { s3ClientConfig, s3Connector } from '../src/index.js'
import { startRadosgw } from '@proj/test-utils'

const DOCS = Number(process.argv[2] ?? 10_000)
const TXS = Number(process.argv[3] ?? 10)

function countingClient(endpoint: string, accessKeyId: string, secretAccessKey: string) {
  const client = new S3Client(
    s3ClientConfig({ endpoint, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } }),
  )
  const counts = new Map<string, number>()
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counts.set(context.commandName!, (counts.get(context.commandName!) ?? 0) + 1)
      return next(args)
    },
    { step: 'initialize', name: 'countRequests' },
  )
  const total = () => [...counts.values()].reduce((a, b) => a + b, 0)
  return { client, counts, total }
}

const rgw = await startRadosgw()
const dir = mkdtempSync(join(tmpdir(), 'proj-s3-bench-'))
try {
  console.log(`radosgw ready in ${rgw.startMs} ms`)
  const writer = countingClient(rgw.endpoint, rgw.accessKeyId, rgw.secretAccessKey)
  await writer.client.send(new CreateBucketCommand({ Bucket: 'bench' }))
  const a = database('bench', { dir: join(dir, 'a') })
  const per = Math.ceil(DOCS / TXS)
  for (let tx = 0; tx < TXS; tx++) {
    await a.bulk(
      Array.from({ length: per }, (_, i) => ({ _id: `doc-${tx}-${i}`, title: 'x'.repeat(150), n: tx * per + i })),
    )
  }
  const before = writer.total()
  let t = performance.now()
  const syncA = a.connect(s3Connector({ bucket: 'bench', client: writer.client }), { pollInterval: 0 })
  await syncA.flush()
  const pushMs = performance.now() - t
  const pushRequests = writer.total() - before

  const reader = countingClient(rgw.endpoint, rgw.accessKeyId, rgw.secretAccessKey)
  const b = database('bench', { dir: join(dir, 'b'), key: await a.exportKey() })
  t = performance.now()
  const syncB = b.connect(s3Connector({ bucket: 'bench', client: reader.client }), { pollInterval: 0 })
  await syncB.ready
  const readyMs = performance.now() - t
  const readyRequests = reader.total()
  const { rows } = await b.allDocs()
  const fullMs = performance.now() - t
  if (rows.length !== TXS * per) throw new Error(`replica has ${rows.length} docs, expected ${TXS * per}`)
  console.log(`| ${TXS * per} docs in ${TXS} transactions | time | S3 requests |`)
  console.log(`| --- | --- | --- |`)
  console.log(`| push to an empty bucket (flush) | ${pushMs.toFixed(0)} ms | ${pushRequests} |`)
  console.log(`| new device: ready (meta + newest file) | ${readyMs.toFixed(0)} ms | ${readyRequests} |`)
  console.log(`| new device: every doc read (allDocs) | ${fullMs.toFixed(0)} ms | ${reader.total()} (${[...reader.counts].map(([k, v]) => `${k} ${v}`).join(', ')}) |`)
  await syncA.close()
  await syncB.close()
  await a.close()
  await b.close()
} finally {
  await rgw.stop()
  rmSync(dir, { recursive: true, force: true })
}
