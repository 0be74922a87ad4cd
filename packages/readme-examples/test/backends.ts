import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createStoreServer } from '@proj/connect-raw/server'
import { freePort, serveFromTempDir } from '@proj/test-utils'
import { startPartykit } from '../../connect-partykit/test/partykit-dev.js'

export interface Backend {
  /** Environment variables the example reads (`process.env.PARTYKIT_URL ?? …`). */
  env: Record<string, string>
  stop(): Promise<void>
}

/** A fresh `partykit dev` (the real party server, workerd) with its own empty storage. */
export async function partykit(vars: Record<string, string> = {}): Promise<Backend> {
  const server = await startPartykit(vars)
  return { env: { PARTYKIT_URL: server.url }, stop: () => server.stop() }
}

/** `proj-serve`'s server over a temp folder, with the token the README's command line gives it. */
export async function projServe(token: string): Promise<Backend> {
  const server = await serveFromTempDir('readme-proj-serve', (dir) => createStoreServer({ dir, token }))
  return { env: { PROJ_SERVE_URL: server.url }, stop: () => server.stop() }
}

/**
 * The S3 README's own recipe, run as a reader of it would: `scripts/local-s3.ts` (radosgw in RAM plus the
 * bucket) on a free port, ready once it prints its `ready:` line. It runs in its own process group, so the
 * Ceph daemons go with it even if this process dies first.
 */
export async function localS3(repo: string): Promise<Backend> {
  const port = await freePort()
  const packageDir = join(repo, 'packages/connect-s3')
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/local-s3.ts', '--port', String(port)], {
    cwd: packageDir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  process.once('exit', killGroup)
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (/^local-s3: ready: /m.test(output)) resolve()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    void exited.then(() => reject(new Error(`scripts/local-s3.ts exited before it was ready:\n${output}`)))
  })
  return {
    env: { S3_ENDPOINT: `http://127.0.0.1:${port}` },
    async stop() {
      // SIGTERM: the script stops rgw, the OSD and the monitor in that order and removes its temp dir.
      child.kill('SIGTERM')
      const timer = setTimeout(killGroup, 30_000)
      await exited
      clearTimeout(timer)
      process.off('exit', killGroup)
    },
  }
}
