/**
 * Seeded fault soak: the convergence runner of @proj/connector-tests over many seeds. Each run has 3 replicas
 * writing, flushing and refreshing through connectors that fail single calls (30 %: before the backend, or
 * after it with the reply lost), duplicate, delay and reorder them and drop pushes; then it checks what every
 * acknowledged call promised: no lost write, no divergence, and every clock a flush() returned readable by a
 * fresh device from the backend alone. Runs through MemoryConnector (multi-entry meta) and connect.raw over a
 * Map (one meta blob per branch, no compare-and-swap). Counts are reported, never hidden: the process exits
 * non-zero when any run fails.
 */
import { writeFileSync } from 'node:fs'

interface Options {
  seeds: number
  replicas: number
  write: boolean
  out: string
}

interface Tally {
  transport: string
  runs: number
  lost: number
  diverged: number
  unreadable: number
  flushedClocks: number
  faults: number
  failedSeeds: number[]
  firstProblem?: string
  seconds: number
}

export async function runSeededSoak(o: Options): Promise<void> {
  const { MemoryBackend, MemoryConnector, runConvergence } = await import('@proj/connector-tests')
  const { rawConnector } = await import('@proj/connect-raw')
  type RawParams = import('@proj/connect-raw').RawParams
  const transports = {
    memory: () => {
      const backend = new MemoryBackend()
      return () => new MemoryConnector(backend)
    },
    raw: () => {
      const objects = new Map<string, Uint8Array>()
      const name = ({ type, name, car, branch }: RawParams) => `${type}/${name}/${car ?? branch}`
      const fns = {
        upload: (bytes: Uint8Array, params: RawParams) => void objects.set(name(params), bytes.slice()),
        download: (params: RawParams) => objects.get(name(params))?.slice(),
      }
      return () => rawConnector(fns)
    },
  }
  const tallies: Tally[] = []
  for (const [transport, make] of Object.entries(transports)) {
    const tally: Tally = { transport, runs: 0, lost: 0, diverged: 0, unreadable: 0, flushedClocks: 0, faults: 0, failedSeeds: [], seconds: 0 }
    const started = performance.now()
    for (let seed = 1; seed <= o.seeds; seed++) {
      try {
        const report = await runConvergence(seed, make(), { replicas: o.replicas })
        tally.lost += report.lost.length
        tally.diverged += report.diverged ? 1 : 0
        tally.unreadable += report.unreadable.length
        tally.flushedClocks += report.flushed
        tally.faults += report.faults
        const problems = [...report.lost, ...report.unreadable, ...(report.diverged ? ['diverged'] : [])]
        if (problems.length) {
          tally.failedSeeds.push(seed)
          tally.firstProblem ??= `seed ${seed}: ${problems[0]}`
        }
      } catch (error) {
        tally.failedSeeds.push(seed)
        tally.firstProblem ??= `seed ${seed}: ${(error as Error).message}`
      }
      tally.runs++
      if (seed % 100 === 0) {
        const s = ((performance.now() - started) / 1000).toFixed(0)
        console.log(`  ${transport}: ${seed}/${o.seeds} runs, ${tally.failedSeeds.length} failed, ${s} s`)
      }
    }
    tally.seconds = (performance.now() - started) / 1000
    tallies.push(tally)
  }
  const lines = [
    `| transport | seeded runs × replicas | injected faults | flushed clocks checked | lost writes | divergent runs | unreadable flushed clocks | time |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...tallies.map(
      (t) =>
        `| ${t.transport} | ${t.runs} × ${o.replicas} | ${t.faults} | ${t.flushedClocks} | ${t.lost} | ${t.diverged} | ${t.unreadable} | ${t.seconds.toFixed(0)} s |`,
    ),
  ]
  const failures = tallies.filter((t) => t.failedSeeds.length)
  for (const t of failures) lines.push('', `${t.transport}: failed seeds ${t.failedSeeds.join(', ')}; first: ${t.firstProblem}`)
  const table = lines.join('\n')
  console.log(table)
  if (o.write) {
    writeFileSync(
      o.out,
      `# Seeded fault soak\n\n\`npm run bench -- --soak ${o.seeds}\` (${new Date().toISOString().slice(0, 10)}, ${o.replicas} replicas per run, ` +
        `30 % of single calls failing before or after the backend, 10 % duplicated, random delays, 30 % of pushes dropped).\n\n${table}\n`,
    )
    console.log(`wrote ${o.out}`)
  }
  if (failures.length) process.exitCode = 1
}
