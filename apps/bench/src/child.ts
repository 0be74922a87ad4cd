/**
 * One child process: loads ONE system and runs the workloads named in argv[2] (JSON Task), reporting each
 * result to the parent over IPC as soon as it is known. A workload that throws is reported as failed and the
 * next one runs; a stalled one is killed by the parent.
 */
import fsp from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import type { Task } from './workloads.js'
import { peakRssMb } from './util.js'

const task = JSON.parse(process.argv[2]!) as Task
const send = (msg: unknown) =>
  new Promise<void>((resolve) => (process.send ? process.send(msg, () => resolve()) : (console.log(JSON.stringify(msg)), resolve())))

if (process.env.BENCH_COUNT_FS) {
  // Count the files opened under the bench root (issue 3's "files opened by a cold get"). The live ESM
  // bindings of node:fs/promises follow these patches through syncBuiltinESMExports().
  const { fsCounter } = await import('./workloads.js')
  const counter = fsCounter()
  const note = (p: unknown) => {
    const s = String(p)
    if (s.startsWith(task.root)) counter.files.add(s)
  }
  const origOpen = fsp.open
  const origRead = fsp.readFile
  ;(fsp as { open: unknown }).open = (p: Parameters<typeof origOpen>[0], ...rest: unknown[]) => {
    note(p)
    return (origOpen as (...a: unknown[]) => unknown)(p, ...rest)
  }
  ;(fsp as { readFile: unknown }).readFile = (p: Parameters<typeof origRead>[0], ...rest: unknown[]) => {
    note(p)
    return (origRead as (...a: unknown[]) => unknown)(p, ...rest)
  }
  syncBuiltinESMExports()
}

const { runWorkload } = await import('./workloads.js')
const { runScaleWorkload } = await import('./scale-workloads.js')
const { loadSystem } = await import('./systems.js')

let sys: Awaited<ReturnType<typeof loadSystem>> | undefined
try {
  sys = task.system === 'floor' ? undefined : await loadSystem(task.system)
  // baseRssMb: resident after the system's modules are loaded, before any workload (the module baseline).
  await send({ type: 'version', version: sys ? sys.version : `node ${process.version} WebCrypto`, durability: sys ? sys.durability : 'power-loss safe (fsync per put in W1; one fsync for the bulk)', baseRssMb: process.memoryUsage().rss / 2 ** 20 })
} catch (e) {
  await send({ type: 'fatal', error: `cannot load ${task.system}: ${(e as Error).stack ?? e}` })
  process.exit(1)
}

process.on('unhandledRejection', (e) => {
  // Peers sometimes reject in the background; note it, the workload's own result decides.
  console.error(`[${task.system}] unhandled rejection: ${(e as Error)?.message ?? e}`)
})

for (const id of task.workloads) {
  await send({ type: 'start', workload: id })
  try {
    const m = id.startsWith('S-') && sys ? await runScaleWorkload(sys, id, task) : await runWorkload(sys, id, task)
    await send({ type: 'result', workload: id, ok: true, ...m, rssMb: peakRssMb() })
  } catch (e) {
    const err = e as Error
    await send({ type: 'result', workload: id, ok: false, error: String(err?.message ?? e).slice(0, 300), rssMb: peakRssMb() })
  }
}
await send({ type: 'done' })
process.exit(0)
