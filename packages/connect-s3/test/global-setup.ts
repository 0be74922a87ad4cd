/**
 * Starts one throwaway radosgw cluster for the whole connect-s3 project and stops it after. When radosgw is
 * not installed it runs scripts/install-radosgw.sh; if that fails too, the radosgw tests fail with the reason
 * (the s3rver tests still run).
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { missingBinaries, startRadosgw, type Radosgw } from '@proj/test-utils'

export interface RadosgwInfo {
  endpoint?: string
  accessKeyId?: string
  secretAccessKey?: string
  startMs?: number
  error?: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    radosgw: RadosgwInfo
  }
}

const installScript = fileURLToPath(new URL('../scripts/install-radosgw.sh', import.meta.url))

export default async function setup(project: TestProject) {
  let cluster: Radosgw | undefined
  try {
    if (missingBinaries().length > 0) {
      try {
        await promisify(execFile)('sh', [installScript], { timeout: 300_000 })
      } catch (err) {
        throw new Error(
          `radosgw is not installed and ${installScript} failed: ${(err as { stderr?: string }).stderr || String(err)}`,
        )
      }
    }
    cluster = await startRadosgw()
    const { endpoint, accessKeyId, secretAccessKey, startMs } = cluster
    process.stderr.write(`[connect-s3] radosgw ready at ${endpoint} in ${startMs} ms\n`)
    project.provide('radosgw', { endpoint, accessKeyId, secretAccessKey, startMs })
  } catch (err) {
    project.provide('radosgw', { error: err instanceof Error ? err.message : String(err) })
  }
  return async () => {
    await cluster?.stop()
  }
}
