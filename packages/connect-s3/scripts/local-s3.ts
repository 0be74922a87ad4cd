/**
 * A local S3 endpoint with a bucket, for trying connect-s3 (the README example) without a cloud account:
 * installs Ceph radosgw from Debian when missing, starts a throwaway single-node cluster in a temp dir (RAM
 * only), creates the bucket, prints how to reach it, and runs until Ctrl-C, which deletes everything.
 *
 *   node --import tsx scripts/local-s3.ts [--port 7480] [--bucket my-bucket]
 *   (or `npm run s3:local` in this package)
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { missingBinaries, startRadosgw, type Radosgw } from '@proj/test-utils'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '7480' },
    bucket: { type: 'string', default: process.env.BUCKET ?? 'my-bucket' },
  },
})
const port = Number(values.port)
const bucket = values.bucket
if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`--port must be a TCP port, got ${JSON.stringify(values.port)}`)

function fail(message: string): never {
  process.stderr.write(`local-s3: ${message}\n`)
  process.exit(1)
}

/** radosgw does not say when its port is taken (it waits forever), so find out first. */
async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

if (!(await portIsFree(port))) fail(`port ${port} on 127.0.0.1 is in use; pick another with --port`)
if (missingBinaries().length > 0) {
  const script = fileURLToPath(new URL('./install-radosgw.sh', import.meta.url))
  process.stderr.write(`local-s3: installing radosgw (${script})\n`)
  await promisify(execFile)('sh', [script], { timeout: 300_000 }).catch((error: { stderr?: string }) =>
    fail(`radosgw is not installed and ${script} failed: ${error.stderr?.trim() || String(error)}`),
  )
}

let cluster: Radosgw | undefined
const stop = async () => {
  await cluster?.stop()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

process.stderr.write(`local-s3: starting a throwaway Ceph cluster (about 15 s)\n`)
try {
  cluster = await startRadosgw({ port })
  const credentials = { accessKeyId: cluster.accessKeyId, secretAccessKey: cluster.secretAccessKey }
  const client = new S3Client({ endpoint: cluster.endpoint, region: 'us-east-1', forcePathStyle: true, credentials })
  await client.send(new CreateBucketCommand({ Bucket: bucket }))
  client.destroy()
  process.stdout.write(
    `local-s3: ready: endpoint ${cluster.endpoint}, bucket ${bucket}, access key ${cluster.accessKeyId}, ` +
      `secret key ${cluster.secretAccessKey}\n` +
      `local-s3: data lives in RAM; Ctrl-C stops the cluster and deletes it\n`,
  )
} catch (error) {
  await cluster?.stop()
  fail(error instanceof Error ? error.message : String(error))
}
