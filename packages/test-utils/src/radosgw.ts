/**
 * A throwaway single-node Ceph cluster serving S3 through radosgw, for tests: one monitor (auth none), one
 * OSD on memstore (RAM), radosgw's beast frontend on 127.0.0.1. Everything lives in a temp dir on free ports;
 * `stop()` ends rgw, then the OSD, then the monitor (stopping the monitor first makes the OSD hang), and
 * removes the dir. Recipe: shared/INFRA.md (S3).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'

const run = promisify(execFile)

export interface Radosgw {
  endpoint: string
  accessKeyId: string
  secretAccessKey: string
  /** Milliseconds from nothing to an S3 user that can sign requests. */
  startMs: number
  stop(): Promise<void>
}

export const BINARIES = ['radosgw', 'ceph-mon', 'ceph-osd', 'monmaptool', 'ceph', 'radosgw-admin'] as const

export function missingBinaries(): string[] {
  const path = (process.env.PATH ?? '').split(':')
  return BINARIES.filter((bin) => !path.some((dir) => existsSync(join(dir, bin))))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      last = err
    }
    await sleep(200)
  }
  throw new Error(`radosgw test cluster: ${what} not ready after ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`)
}

async function stopProcess(child: ChildProcess, name: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)])
  if (timedOut) {
    process.stderr.write(`radosgw test cluster: ${name} ignored SIGTERM, killing\n`)
    child.kill('SIGKILL')
    await exited
  }
}

/** `port`: radosgw's port on 127.0.0.1 (default: a free one). */
export function startRadosgw(options: { port?: number } = {}): Promise<Radosgw> {
  return startCluster(options)
}

async function startCluster(options: { port?: number }): Promise<Radosgw> {
  const started = Date.now()
  const missing = missingBinaries()
  if (missing.length > 0) {
    throw new Error(
      `radosgw test cluster: ${missing.join(', ')} not installed; run packages/connect-s3/scripts/install-radosgw.sh`,
    )
  }
  const dir = await mkdtemp(join(tmpdir(), 'connect-s3-ceph-'))
  const [monPort, rgwPort] = [await freePort(), options.port ?? (await freePort())]
  const fsid = randomUUID()
  const conf = join(dir, 'ceph.conf')
  for (const sub of ['mon', 'osd0', 'run', 'log', 'rgw']) await mkdir(join(dir, sub))
  await writeFile(
    conf,
    `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
ms bind ipv6 = false
ms bind msgr2 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
# Ceph 16's OSD can send these start-up monitor commands before it has the monmap, with fsid 0, and the
# monitor rejects them ('wrong fsid'), which kills the OSD. startCluster places the OSD in the CRUSH map itself.
osd class update on start = false
osd crush update on start = false
memstore device bytes = 1073741824
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
pid file = ${dir}/run/$name.pid
keyring = /dev/null
[mon.a]
mon data = ${dir}/mon
[osd.0]
osd data = ${dir}/osd0
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
`,
  )
  const children: Array<[ChildProcess, string]> = []
  const daemon = (bin: string, args: string[]) => {
    const child = spawn(bin, ['-c', conf, ...args, '-f'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
    })
    child.once('exit', (code, signal) => {
      if (!stopping && (code !== 0 || signal)) {
        process.stderr.write(`radosgw test cluster: ${bin} exited (${code ?? signal}): ${stderr}\n`)
      }
    })
    children.unshift([child, bin]) // stop in reverse start order: rgw, osd, mon
    return child
  }
  let stopping = false
  const stop = async () => {
    stopping = true
    for (const [child, name] of children) await stopProcess(child, name)
    await rm(dir, { recursive: true, force: true })
  }
  const ceph = (...args: string[]) => run('ceph', ['-c', conf, '--connect-timeout', '5', ...args])

  try {
    await run('monmaptool', ['--create', '--add', 'a', `v1:127.0.0.1:${monPort}`, '--fsid', fsid, join(dir, 'run/monmap')])
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'run/monmap')])
    daemon('ceph-mon', ['-i', 'a'])
    const osdUuid = randomUUID()
    const osdId = await waitFor('ceph-mon', 60_000, async () => (await ceph('osd', 'create', osdUuid)).stdout.trim())
    if (osdId !== '0') throw new Error(`radosgw test cluster: expected osd id 0, got ${osdId}`)
    await run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid])
    daemon('ceph-osd', ['-i', '0'])
    await waitFor('ceph-osd', 90_000, async () => {
      const { stdout } = await ceph('osd', 'stat', '--format', 'json')
      return (JSON.parse(stdout) as { num_up_osds?: number }).num_up_osds === 1 ? true : undefined
    })
    // The OSD places itself in the CRUSH map on start, but that call can race the monitor; make sure.
    await ceph('osd', 'crush', 'create-or-move', 'osd.0', '1.0', 'root=default', 'host=localhost')
    daemon('radosgw', ['-n', 'client.rgw.a'])
    const endpoint = `http://127.0.0.1:${rgwPort}`
    await waitFor('radosgw', 120_000, async () => ((await fetch(endpoint)).status === 200 ? true : undefined))
    const accessKeyId = 'testak'
    const secretAccessKey = 'testsk'
    await run('radosgw-admin', [
      '-c', conf, 'user', 'create', '--uid', 'test', '--display-name', 'test',
      '--access-key', accessKeyId, '--secret-key', secretAccessKey,
    ])
    return { endpoint, accessKeyId, secretAccessKey, startMs: Date.now() - started, stop }
  } catch (err) {
    for (const log of ['mon.a', 'osd.0', 'client.rgw.a']) {
      const text = await readFile(join(dir, `log/${log}.log`), 'utf8').catch(() => '')
      if (text) process.stderr.write(`radosgw test cluster: ${log}.log tail:\n${text.slice(-2000)}\n`)
    }
    await stop()
    throw err
  }
}
