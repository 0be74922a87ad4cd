/**
 * Scale mode (`--scale 10000,100000,1000000`): per system and per N, a bulk load in transactions of 1 000, then
 * each workload of scale-workloads.ts in a fresh child process (its peak RSS is its own). Measurements are
 * merged into SCALE.json (one entry per system and N, replaced when measured again), so a long N can run on its
 * own later; the "Scale" section of RESULTS.md is rendered from all of them.
 */
import { fork, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SCALE_BATCH, SCALE_PAGE, SCALE_RANGE, SCALE_WORKLOADS } from './scale-workloads.js'
import type { Task, WorkloadResult } from './workloads.js'

const here = dirname(fileURLToPath(import.meta.url))

export interface ScaleEntry {
  system: string
  n: number
  when: string
  code: string
  durability: string
  version: string
  /** Resident MB once the system's modules are loaded (child of S-open), before any work. */
  baseRssMb?: number
  loadAvg: number[]
  results: Record<string, WorkloadResult>
}

const OPEN_RUNS = 3

const LABELS: Record<string, string> = {
  ours: '@proj/core',
  'ours-process': "@proj/core 'process'",
  'pouch-leveldb': 'PouchDB LevelDB',
  fireproof: 'Fireproof',
}
const durabilityTag = (d: string) => (d.startsWith('power') ? 'power' : d.startsWith('process') ? 'process' : d.startsWith('none') ? 'memory' : '?')

function runOne(task: Task, env: NodeJS.ProcessEnv): Promise<{ result: WorkloadResult; version?: string; durability?: string; baseRssMb?: number }> {
  return new Promise((resolve) => {
    let result: WorkloadResult | undefined
    let version: string | undefined
    let durability: string | undefined
    let baseRssMb: number | undefined
    let stderr = ''
    const id = task.workloads[0]!
    const child = fork(join(here, 'child.ts'), [JSON.stringify(task)], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
    })
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)))
    const timer = setTimeout(() => {
      result ??= { workload: id, ok: false, error: `stalled: no result after ${task.timeoutMs / 1000} s (child killed)`, rssMb: 0 }
      child.kill('SIGKILL')
    }, task.timeoutMs + 120_000)
    child.on('message', (msg: { type: string } & Record<string, unknown>) => {
      if (msg.type === 'version') {
        version = String(msg.version)
        durability = String(msg.durability)
        baseRssMb = Number(msg.baseRssMb)
      } else if (msg.type === 'result') result = msg as unknown as WorkloadResult
      else if (msg.type === 'fatal') stderr += String(msg.error)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      result ??= { workload: id, ok: false, error: `child exited (${signal ?? code}): ${stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`, rssMb: 0 }
      resolve({ result, version, durability, baseRssMb })
    })
  })
}

const fmt = (x: number): string =>
  !Number.isFinite(x) ? String(x) : x >= 1000 ? Math.round(x).toLocaleString('en-US').replace(/,/g, ' ') : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)

function codeState(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: join(here, '..', '..', '..'), encoding: 'utf8' }).stdout?.trim() ?? '?'
  const dirty = git('status', '--porcelain', '--', 'packages/core/src').split('\n').filter(Boolean).length
  return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ` + ${dirty} uncommitted file(s) in packages/core/src` : ''}`
}

export async function runScale(options: { sizes: number[]; systems: string[]; timeoutS?: number; write: boolean; command: string }): Promise<void> {
  const jsonPath = join(here, '..', 'SCALE.json')
  const store: Record<string, ScaleEntry> = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) : {}
  for (const n of options.sizes)
    for (const system of options.systems) {
      const root = mkdtempSync(join(os.tmpdir(), `bench-scale-${system}-${n}-`))
      console.log(`${LABELS[system] ?? system}, N = ${n}:`)
      const codeAtStart = codeState()
      const entry: ScaleEntry = { system, n, when: `${new Date().toISOString().slice(0, 16)}Z`, code: codeAtStart, durability: '?', version: '?', loadAvg: [], results: {} }
      try {
        for (const w of SCALE_WORKLOADS) {
          if (w !== 'S-load' && !entry.results['S-load']?.ok) break
          // Room for the slowest system: PouchDB loads ~800 docs/s on this machine under load.
          const timeoutMs = (options.timeoutS ?? 300 + n / 100) * 1000
          process.stdout.write(`  ${w} ...`)
          const task: Task = { system, workloads: [w], n, root, timeoutMs, quick: false }
          // A cold open is short and noisy on a shared machine: the median of three fresh processes.
          const tries: Awaited<ReturnType<typeof runOne>>[] = []
          for (let k = 0; k < (w === 'S-open' ? OPEN_RUNS : 1); k++) {
            tries.push(await runOne(task, w === 'S-open' ? { BENCH_COUNT_FS: '1' } : {}))
            if (!tries.at(-1)!.result.ok) break
          }
          const r = tries.find((t) => !t.result.ok) ?? tries.sort((a, b) => a.result.value! - b.result.value!)[tries.length >> 1]!
          entry.results[w] = r.result
          if (r.version) entry.version = r.version
          if (r.durability) entry.durability = r.durability
          if (w === 'S-open' && r.baseRssMb) entry.baseRssMb = r.baseRssMb
          process.stdout.write(r.result.ok ? ` ${fmt(r.result.value!)} (peak RSS ${r.result.rssMb.toFixed(0)} MB) ${JSON.stringify(r.result.extra)}\n` : ` FAILED: ${r.result.error}\n`)
        }
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
      entry.loadAvg = os.loadavg().map((x) => Number(x.toFixed(1)))
      // Say so when the core's sources changed while this system and N ran (the build measured may predate them).
      const codeAtEnd = codeState()
      if (codeAtEnd !== codeAtStart) entry.code = `${codeAtStart} → ${codeAtEnd} (changed during the run)`
      store[`${system}@${n}`] = entry
      if (options.write) writeFileSync(jsonPath, JSON.stringify(store, null, 1) + '\n')
    }
  renderScale(store, options)
}

/** Renders the Scale section from every measurement in SCALE.json (and writes it into RESULTS.md). */
export function renderScale(store: Record<string, ScaleEntry> | undefined, options: { write: boolean; command: string }): void {
  const jsonPath = join(here, '..', 'SCALE.json')
  store ??= existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, ScaleEntry>) : {}
  const section = scaleSection(store, options.command)
  console.log('\n' + section)
  if (options.write) {
    const path = join(here, '..', 'RESULTS.md')
    writeFileSync(path, withScaleSection(existsSync(path) ? readFileSync(path, 'utf8') : '', section))
    console.log('written: apps/bench/SCALE.json and the Scale section of apps/bench/RESULTS.md')
  }
}

/** `report` with its "## Scale" section replaced by `section` (or inserted before "## Versions", or appended). */
export function withScaleSection(report: string, section: string): string {
  const body = section.trimEnd() + '\n\n'
  const existing = /\n## Scale\b[\s\S]*?(?=\n## |$)/.exec(report)
  if (existing) return report.slice(0, existing.index + 1) + body + report.slice(existing.index + existing[0].length + 1)
  const versions = report.indexOf('\n## Versions')
  if (versions >= 0) return report.slice(0, versions + 1) + body + report.slice(versions + 1)
  return report.trimEnd() + '\n\n' + body
}

/** The measures of the section: how to read each from an entry, its unit, and what growth is expected. */
const MEASURES: { label: string; unit: string; get: (e: ScaleEntry) => number | undefined; expect: string }[] = [
  { label: `bulk load, transactions of ${SCALE_BATCH}`, unit: 'µs/doc', get: (e) => ok(e, 'S-load', (r) => 1e6 / r.value!), expect: 'O(1) per doc' },
  { label: 'bulk load: last transaction of 1 000', unit: 'ms', get: (e) => ok(e, 'S-load', (r) => num(r.extra?.['last batch ms'])), expect: 'O(change)' },
  { label: 'bulk load: peak RSS', unit: 'MB', get: (e) => ok(e, 'S-load', (r) => r.rssMb), expect: 'O(1)' },
  { label: 'disk after load', unit: 'B/doc', get: (e) => ok(e, 'S-load', (r) => num(r.extra?.['disk bytes']) / e.n), expect: 'O(1) per doc' },
  { label: 'cold open + get one doc (fresh process, median of 3)', unit: 'ms', get: (e) => ok(e, 'S-open', (r) => r.value), expect: 'O(log N)' },
  { label: 'cold open + get: bytes read', unit: 'kB', get: (e) => ok(e, 'S-open', (r) => num(r.extra?.['bytes read']) / 1e3), expect: 'O(log N)' },
  { label: 'cold open + get: peak RSS', unit: 'MB', get: (e) => ok(e, 'S-open', (r) => r.rssMb), expect: 'O(1)' },
  { label: `range query of ${SCALE_RANGE} docs on n (median of 10)`, unit: 'ms', get: (e) => ok(e, 'S-range', (r) => r.value), expect: 'O(log N)' },
  { label: 'range query: first one (builds the index if needed)', unit: 'ms', get: (e) => ok(e, 'S-range', (r) => num(r.extra?.['first query ms'])), expect: 'O(N) once' },
  { label: `id range of ${SCALE_RANGE} (allDocs from a key, median)`, unit: 'ms', get: (e) => ok(e, 'S-range', (r) => num(r.extra?.['id range ms'])), expect: 'O(log N)' },
  { label: 'range query: peak RSS', unit: 'MB', get: (e) => ok(e, 'S-range', (r) => r.rssMb), expect: 'O(1)' },
  { label: `allDocs paging, pages of ${SCALE_PAGE}: all N`, unit: 'µs/doc', get: (e) => ok(e, 'S-page', (r) => (1e3 * r.value!) / e.n), expect: 'O(1) per doc' },
  { label: 'allDocs paging: last page', unit: 'ms', get: (e) => ok(e, 'S-page', (r) => num(r.extra?.['last page ms'])), expect: 'O(page)' },
  { label: 'allDocs paging: peak RSS', unit: 'MB', get: (e) => ok(e, 'S-page', (r) => r.rssMb), expect: 'O(1)' },
  { label: 'single put into the N-doc db (median of 200)', unit: 'ms', get: (e) => ok(e, 'S-put', (r) => r.value), expect: 'O(log N)' },
  { label: 'single put: bytes written', unit: 'B/put', get: (e) => ok(e, 'S-put', (r) => num(r.extra?.['bytes written per put'])), expect: 'O(log N)' },
  { label: 'single put: mean incl. background work until close()', unit: 'ms', get: (e) => ok(e, 'S-put', (r) => num(r.extra?.['mean ms per put incl. close'])), expect: 'O(log N)' },
  { label: 'single put: mean bytes written incl. background (compaction)', unit: 'B/put', get: (e) => ok(e, 'S-put', (r) => num(r.extra?.['mean bytes per put incl. background'])), expect: 'O(log N)' },
  { label: 'module baseline RSS (system loaded, no db open)', unit: 'MB', get: (e) => e.baseRssMb, expect: 'O(1)' },
]
const num = (x: unknown) => (typeof x === 'number' ? x : NaN)
function ok(e: ScaleEntry, w: string, f: (r: WorkloadResult) => number | undefined): number | undefined {
  const r = e.results[w]
  return r?.ok ? f(r) : undefined
}

export function scaleSection(store: Record<string, ScaleEntry>, command: string): string {
  const entries = Object.values(store)
  const sizes = [...new Set(entries.map((e) => e.n))].sort((a, b) => a - b)
  const systems = ['ours', 'ours-process', 'pouch-leveldb', 'fireproof'].filter((s) => entries.some((e) => e.system === s))
  const at = (s: string, n: number) => store[`${s}@${n}`]
  const nLabel = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n))
  const lines: string[] = []
  const p = (s = '') => lines.push(s)
  p(`## Scale: how each cost grows with N`)
  p()
  p(`Command: \`${command}\` (\`--scale <N,N,...> [--systems ours,ours-process,pouch-leveldb,fireproof]\`; each system and N is merged into ` +
    `[SCALE.json](./SCALE.json), so an N can be measured again on its own). Per system and N: a bulk load of N docs in transactions of ${SCALE_BATCH} ` +
    `(\`S-load\`), then each workload in a fresh process on that database: cold open + get one doc (\`S-open\`), every doc through allDocs pages of ${SCALE_PAGE} ` +
    `each starting after the previous page's last id (\`S-page\`; ours \`allDocs({ limit, after })\`, PouchDB \`startkey\` + \`skip: 1\`), a range of ${SCALE_RANGE} docs with bodies (\`S-range\`: ` +
    `as W5, ours \`query('n', { range, includeDocs })\`, PouchDB its primary index), 200 single awaited puts (\`S-put\`: more than the core's default \`compactEvery\` of 100 files, so an automatic compaction falls in it; the mean counts it, the median does not). Peak RSS is each process's VmHWM. ` +
    `"×10" columns are the cost at 10×N over the cost at N: 1× is constant, ~1.1–1.5× logarithmic, 10× linear in the database.`)
  p()
  const runs = entries.sort((a, b) => a.n - b.n || systems.indexOf(a.system) - systems.indexOf(b.system))
  p(`Runs: ${runs.map((e) => `${LABELS[e.system] ?? e.system} [${durabilityTag(e.durability)}] N=${nLabel(e.n)} at ${e.when} (code ${e.code}, load average after ${e.loadAvg.join(' ')})`).join('; ')}.`)
  p()
  const ratioCols = sizes.slice(1).map((n, i) => `×${n / sizes[i]!} (${nLabel(sizes[i]!)}→${nLabel(n)})`)
  p(`| measure | unit | system | ${sizes.map(nLabel).join(' | ')} | ${ratioCols.join(' | ')} | expected |`)
  p(`|---|---|---|${sizes.map(() => '---:').join('|')}|${ratioCols.map(() => '---:').join('|')}|---|`)
  for (const m of MEASURES)
    for (const s of systems) {
      const values = sizes.map((n) => {
        const e = at(s, n)
        return e ? m.get(e) : undefined
      })
      if (values.every((v) => v === undefined)) continue
      const shown = sizes.map((n, i) => {
        const e = at(s, n)
        const v = values[i]
        if (!e) return '—'
        if (v === undefined || Number.isNaN(v)) {
          const failed = Object.values(e.results).find((r) => !r.ok)
          return failed ? (s.startsWith('ours') ? 'FAILED' : 'no result†') : '—'
        }
        return fmt(v)
      })
      const ratios = sizes.slice(1).map((_, i) => {
        const a = values[i]
        const b = values[i + 1]
        return a !== undefined && b !== undefined && a > 0 && Number.isFinite(a) && Number.isFinite(b) ? `${(b / a).toFixed(2)}×` : '—'
      })
      p(`| ${m.label} | ${m.unit} | ${LABELS[s] ?? s} [${durabilityTag(at(s, sizes.find((n) => at(s, n))!)!.durability)}] | ${shown.join(' | ')} | ${ratios.join(' | ')} | ${m.expect} |`)
    }
  p()
  // Hand-written reading of the figures (what grows with the database and why), kept beside SCALE.json.
  const notes = join(here, '..', 'SCALE-NOTES.md')
  if (existsSync(notes)) {
    p(readFileSync(notes, 'utf8').trimEnd())
    p()
  }
  const failures = runs.flatMap((e) => Object.values(e.results).filter((r) => !r.ok).map((r) => `- ${LABELS[e.system] ?? e.system} N=${nLabel(e.n)} ${r.workload}: ${r.error}`))
  if (failures.length) {
    p(`Runs without a result (ours: FAILED; a peer's: † a result of this harness, not a verdict on the peer):`)
    p()
    for (const f of failures) p(f)
    p()
  }
  return lines.join('\n')
}
