/**
 * Orchestrator: runs every system's workloads in child processes (one system per process, never two in one
 * heap), kills a child that stalls, keeps going when a peer fails, and writes the report.
 *
 *   node --conditions source --import tsx src/main.ts [--quick] [--runs 3] [--n 10000] [--timeout 120]
 *        [--systems floor,ours,pouch-leveldb,pouch-memory,fireproof] [--write | --no-write]
 *   node --conditions source --import tsx src/main.ts --soak [1000] [--replicas 3]   seeded fault runs (SOAK.md)
 *   node --conditions source --import tsx src/main.ts --soak-time 60 [--replicas 3] [--seed 1]   timed soak
 */
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { meanDocBytes } from './docs.js'
import { median } from './util.js'
import type { Task } from './workloads.js'
import { singleCounts, UNITS } from './workloads.js'

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(`--${name}`)
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}

if (flag('soak')) {
  const { runSeededSoak } = await import('./seeded-soak.js')
  const seeds = opt('soak', '1000')
  await runSeededSoak({
    seeds: /^\d+$/.test(seeds) ? Number(seeds) : 1000,
    replicas: Number(opt('replicas', '3')),
    write: !flag('no-write'),
    out: join(here, '..', 'SOAK.md'),
  })
  process.exit(process.exitCode ?? 0)
}

if (flag('soak-time')) {
  const { runSoak } = await import('./soak.js')
  await runSoak({
    seconds: Number(opt('soak-time', '60')),
    replicas: Number(opt('replicas', '3')),
    seed: Number(opt('seed', '1')),
    write: !flag('no-write'),
    out: join(here, '..', 'SOAK-TIMED.md'),
  })
  process.exit(0)
}

const quick = flag('quick') || process.env.BENCH_QUICK === '1'
const N = Number(opt('n', quick ? '1000' : '10000'))
const RUNS = Number(opt('runs', quick ? '1' : '3'))
const TIMEOUT_MS = Number(opt('timeout', quick ? '8' : '120')) * 1000
const SYSTEMS = opt('systems', 'floor,ours,pouch-leveldb,pouch-memory,fireproof').split(',')
const WRITE = flag('write') || (!quick && !flag('no-write'))
const PEERS = SYSTEMS.filter((s) => s !== 'ours' && s !== 'floor')

/** Our sync transports measured in W8 (rows W8a/W8b = MemoryConnector, .raw = connect.raw over a Map).
 * HOOK: add 'partykit' here (and its transport in systems.ts makeTransport) when connect-partykit is ready. */
const OUR_SYNC_TRANSPORTS = ['memory', 'raw']

const LABELS: Record<string, string> = {
  floor: 'floor',
  ours: '@proj/core',
  'pouch-leveldb': 'PouchDB LevelDB',
  'pouch-memory': 'PouchDB memory',
  fireproof: 'Fireproof',
}

interface Result {
  workload: string
  ok: boolean
  value?: number
  extra?: Record<string, number | string>
  error?: string
  rssMb: number
}

function workloadsOf(system: string): { batch: string[]; fresh: string[][] } {
  if (system === 'floor') return { batch: ['W1', 'W2', 'W7'], fresh: [] }
  // The memory adapter keeps nothing across processes: W6 (reopen in a fresh process) and W7 (disk) are n/a.
  if (system === 'pouch-memory') return { batch: ['W1', 'W2', 'W3', 'W4', 'W5', 'W8a', 'W8b'], fresh: [] }
  const batch = ['W1', 'W2', 'W3', 'W4', 'W5', 'W8a', 'W8b']
  if (system === 'ours') for (const t of OUR_SYNC_TRANSPORTS) if (t !== 'memory') batch.push(`W8a.${t}`, `W8b.${t}`)
  batch.push('W6prep')
  const fresh = [['W6']]
  if (system === 'ours') {
    batch.push('C5prep')
    fresh.push(['C5'])
  }
  return { batch, fresh }
}

/** Runs `workloads` in as many children as needed: a killed or crashed child's remaining ones go to a new one. */
async function runChildren(system: string, workloads: string[], root: string, versions: Map<string, string>, env: NodeJS.ProcessEnv = {}): Promise<Result[]> {
  const results: Result[] = []
  let todo = [...workloads]
  while (todo.length) {
    const task: Task = { system, workloads: todo, n: N, root, timeoutMs: TIMEOUT_MS, quick }
    const done = await runChild(task, versions, env)
    results.push(...done)
    const finished = new Set(done.map((r) => r.workload))
    const next = todo.filter((w) => !finished.has(w))
    if (next.length === todo.length) {
      for (const w of next) results.push({ workload: w, ok: false, error: 'child process failed before running it', rssMb: 0 })
      break
    }
    todo = next
  }
  return results
}

function runChild(task: Task, versions: Map<string, string>, env: NodeJS.ProcessEnv): Promise<Result[]> {
  return new Promise((resolve) => {
    const results: Result[] = []
    let current: string | undefined
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    const child = fork(join(here, 'child.ts'), [JSON.stringify(task)], {
      execArgv: ['--conditions', 'source', '--import', 'tsx', '--max-old-space-size=8192'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
    })
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000)
    })
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        if (current) {
          results.push({ workload: current, ok: false, error: `stalled: no result after ${TIMEOUT_MS / 1000} s (child killed)`, rssMb: 0 })
          process.stdout.write(` FAILED: stalled, killed after ${TIMEOUT_MS / 1000} s\n`)
        }
        current = undefined
        child.kill('SIGKILL')
      }, TIMEOUT_MS)
    }
    arm()
    child.on('message', (msg: { type: string } & Record<string, unknown>) => {
      if (msg.type === 'version') versions.set(task.system, String(msg.version))
      else if (msg.type === 'start') {
        current = String(msg.workload)
        arm()
        process.stdout.write(`  ${LABELS[task.system] ?? task.system} ${current} ...`)
      } else if (msg.type === 'result') {
        const r = msg as unknown as Result
        results.push(r)
        current = undefined
        process.stdout.write(r.ok ? ` ${fmt(r.value!)} ${UNITS[r.workload.replace(/\..*$/, '')]?.unit ?? ''}\n` : ` FAILED: ${r.error}\n`)
      } else if (msg.type === 'fatal') stderr += String(msg.error)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (current) {
        const why = stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300)
        results.push({ workload: current, ok: false, error: `child exited (${signal ?? code}) during the workload: ${why}`, rssMb: 0 })
        process.stdout.write(` FAILED (child exited ${signal ?? code})\n`)
      } else if (code !== 0 && results.length === 0) {
        process.stdout.write(`  ${task.system}: child failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}\n`)
      }
      resolve(results)
    })
  })
}

const fmt = (x: number): string =>
  !Number.isFinite(x) ? String(x) : x >= 1000 ? Math.round(x).toLocaleString('en-US').replace(/,/g, ' ') : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)

// ------------------------------------------------------------------------------------------------ run
const started = Date.now()
const versions = new Map<string, string>()
/** system -> workload -> results of every run */
const all = new Map<string, Map<string, Result[]>>()
const add = (system: string, r: Result) => {
  let m = all.get(system)
  if (!m) all.set(system, (m = new Map()))
  const id = r.workload === 'W6prep' ? 'W7' : r.workload === 'C5prep' ? 'C5size' : r.workload
  let list = m.get(id)
  if (!list) m.set(id, (list = []))
  list.push({ ...r, workload: id })
}

console.log(`bench: N=${N}, runs=${RUNS}, ${quick ? 'quick' : 'full'}, per-workload timeout ${TIMEOUT_MS / 1000} s, systems ${SYSTEMS.join(', ')}`)
for (const system of SYSTEMS) {
  console.log(`${LABELS[system] ?? system}:`)
  const { batch, fresh } = workloadsOf(system)
  const root = mkdtempSync(join(os.tmpdir(), `bench-${system}-`))
  try {
    if (quick) {
      // One process for the batch (peak RSS is then cumulative), a fresh one for each reopen.
      for (const r of await runChildren(system, batch, root, versions)) add(system, r)
      for (const f of fresh) for (const r of await runChildren(system, f, root, versions, f[0] === 'C5' ? { BENCH_COUNT_FS: '1' } : {})) add(system, r)
    } else {
      const once = new Set(['W6prep', 'C5prep', 'W7'])
      let firstStart = 0
      for (const w of batch) {
        const runs = once.has(w) ? 1 : RUNS
        for (let k = 0; k < runs; k++) {
          // A failure is the result: no need to fail again in the next runs.
          if (all.get(system)?.get(w)?.some((r) => !r.ok)) break
          // Very slow workloads (a peer at 100 ops/s on 10k docs) run once; the report says how many runs.
          if (k > 0 && Date.now() - firstStart > 30_000) break
          if (k === 0) firstStart = Date.now()
          const sub = mkdtempSync(join(root, `${w}-`))
          const dir = once.has(w) ? root : sub
          for (const r of await runChildren(system, [w], dir, versions)) add(system, r)
        }
      }
      for (const f of fresh)
        for (let k = 0; k < RUNS; k++) {
          if (all.get(system)?.get(f[0]!)?.some((r) => !r.ok)) break
          for (const r of await runChildren(system, f, root, versions, f[0] === 'C5' ? { BENCH_COUNT_FS: '1' } : {})) add(system, r)
        }
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}
const elapsed = (Date.now() - started) / 1000

// ------------------------------------------------------------------------------------------------ report
interface Cell {
  ok: boolean
  value?: number
  error?: string
  rssMb: number
  extra?: Record<string, number | string>
  runs: number
}
function cell(system: string, workload: string): Cell | undefined {
  const list = all.get(system)?.get(workload)
  if (!list?.length) return undefined
  const bad = list.filter((r) => !r.ok)
  const rssMb = Math.max(...list.map((r) => r.rssMb))
  if (bad.length) return { ok: false, error: `${bad[0]!.error}${list.length > 1 ? ` (${bad.length} of ${list.length} runs failed)` : ''}`, rssMb, runs: list.length }
  const values = list.map((r) => r.value!)
  // extras: medians per key when numeric
  const extra: Record<string, number | string> = {}
  for (const key of Object.keys(list[0]!.extra ?? {})) {
    const xs = list.map((r) => r.extra?.[key])
    extra[key] = xs.every((x) => typeof x === 'number') ? median(xs as number[]) : String(xs[0])
  }
  return { ok: true, value: median(values), rssMb, extra, runs: list.length }
}

const ROWS = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7', 'W8a', 'W8b', ...OUR_SYNC_TRANSPORTS.filter((t) => t !== 'memory').flatMap((t) => [`W8a.${t}`, `W8b.${t}`])]
const baseOf = (w: string) => w.replace(/\..*$/, '')
const rowTitle = (w: string) => {
  const u = UNITS[baseOf(w)]!
  const counts = singleCounts(quick)
  const t = u.title.replace('1 000 single', `${counts.puts} single`).replace('1 000 writes', `${counts.live} writes`).replace(/\bN\b/g, N.toLocaleString('en-US').replace(/,/g, ' '))
  if (w.endsWith('.raw')) return `${t.split(' ')[0]}.raw ours through connect.raw over a Map (poll 100 ms)`
  if (w.startsWith('W8')) return `${t} (ours: MemoryConnector)`
  return t
}
const show = (c: Cell | undefined): string => (!c ? '—' : c.ok ? fmt(c.value!) : `no result†`)
const showAt = (s: string, w: string): string => (s === 'pouch-memory' && (w === 'W6' || w === 'W7') ? 'n/a (memory)' : show(cell(s, w)))

/** How many times better ours is than `other` (>1: ours faster/smaller). */
function ratio(w: string, ours: Cell | undefined, other: Cell | undefined): string {
  if (!ours?.ok || !other?.ok || !ours.value || !other.value) return '—'
  const r = UNITS[baseOf(w)]!.higherIsBetter ? ours.value / other.value : other.value / ours.value
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`
}

const lines: string[] = []
const p = (s = '') => lines.push(s)
const cpus = os.cpus()
p(`# Benchmark results`)
p()
p(`${quick ? 'QUICK run (not the committed figures)' : 'Full run'}: ${new Date().toISOString().slice(0, 16)}Z, ${cpus.length} × ${cpus[0]?.model?.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}. ` +
  `N = ${N.toLocaleString('en-US')} docs of ~${meanDocBytes()} B JSON; medians of ${RUNS} run(s), each system in its own process` +
  `${quick ? ' (quick: one process per system, so peak RSS is cumulative)' : ' (one process per workload per run)'}; took ${elapsed.toFixed(0)} s; load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (other jobs share these 2 cores).`)
p(`Command: \`npm run bench${quick ? ' -- --quick' : ''}\` at the root (or \`node scripts/pnpm.mjs --filter @proj/bench run bench${quick ? ' --quick' : ''}\`).`)
p()
p(`Ratios read "ours is k× better": for rates ours ÷ peer, for times and bytes peer ÷ ours (> 1: ours wins). ` +
  `The floor column is the raw work (AES-256-GCM + SHA-256 + fsync'd append of the same bytes); "ours ÷ floor" is ours' time over the floor's (1× = at the hardware).`)
p()
const peerCols = PEERS.map((s) => LABELS[s] ?? s)
p(`| workload | unit | ${SYSTEMS.map((s) => LABELS[s] ?? s).join(' | ')} | ${peerCols.map((c) => `ours vs ${c}`).join(' | ')} | ours ÷ floor |`)
p(`|---|---|${SYSTEMS.map(() => '---:').join('|')}|${PEERS.map(() => '---:').join('|')}|---:|`)
for (const w of ROWS) {
  const u = UNITS[baseOf(w)]!
  const ours = cell('ours', w)
  const fl = cell('floor', w)
  let floorRatio = '—'
  if (ours?.ok && fl?.ok) floorRatio = `${(u.higherIsBetter ? fl.value! / ours.value! : ours.value! / fl.value!).toFixed(2)}×`
  p(`| ${rowTitle(w)} | ${u.unit} | ${SYSTEMS.map((s) => showAt(s, w)).join(' | ')} | ${PEERS.map((s) => ratio(w, ours, cell(s, w))).join(' | ')} | ${floorRatio} |`)
}
p()
p(`## Peak RSS per workload (MB, VmHWM of the process${quick ? '; cumulative in quick mode' : ''})`)
p()
p(`| workload | ${SYSTEMS.map((s) => LABELS[s] ?? s).join(' | ')} |`)
p(`|---|${SYSTEMS.map(() => '---:').join('|')}|`)
for (const w of ROWS) p(`| ${w} | ${SYSTEMS.map((s) => { const c = cell(s, w); return c && c.rssMb ? c.rssMb.toFixed(0) : '—' }).join(' | ')} |`)
p()
p(`## Runs without a result (not confirmed as the peer's failure)`)
p()
p(`† A run of this harness that gave no result. Before calling it the peer's failure, confirm it with a standalone repro under apps/bench/repro/.`)
p()
let failures = 0
for (const s of SYSTEMS)
  for (const w of [...ROWS, 'C5', 'C5size']) {
    const c = cell(s, w)
    if (c && !c.ok) {
      failures++
      p(`- **${LABELS[s] ?? s} ${w}**: ${c.error}`)
    }
  }
if (!failures) p('None.')
p()
p(`## Details (medians)`)
p()
for (const s of SYSTEMS)
  for (const w of ROWS) {
    const c = cell(s, w)
    if (c?.ok)
      p(`- ${LABELS[s] ?? s} ${w}: runs ${c.runs}${Object.keys(c.extra ?? {}).length ? ', ' : ''}${Object.entries(c.extra ?? {}).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`).join(', ')}`)
  }
p(`- W5 query per system: ours \`db.query('n', { range, includeDocs: true })\` (secondary index); Fireproof \`db.query('n', { range, includeDocs: true })\`; ` +
  `PouchDB \`allDocs({ startkey, endkey, include_docs: true })\` on the primary index (ids encode n, PouchDB's fastest range read; a mango or map/reduce index would be slower).`)
p(`- W8: ours replicates through \`db.connect(new MemoryConnector(backend))\` (two databases, separate dirs, one MemoryBackend) and through \`connect.raw\`'s connector over a Map; ` +
  `PouchDB through \`a.replicate.to(b)\` (W8a) and \`PouchDB.sync(a, b, { live: true })\` (W8b); Fireproof through \`attach()\` of both ledgers to one shared file store ` +
  `(\`storekey=insecure\`: its ledgers have separate keys, so the shared store is unencrypted). PartyKit: not measured yet (hook in systems.ts / OUR_SYNC_TRANSPORTS).`)
p()
p(`## @proj/core figures for issue 3`)
p()
const o = (w: string) => cell('ours', w)
const fl = (w: string) => cell('floor', w)
const line = (label: string, c: Cell | undefined, unit: string, more = '') => p(`| ${label} | ${!c ? '—' : c.ok ? `${fmt(c.value!)} ${unit}` : `FAILED: ${c.error}`} | ${more} |`)
p(`| measure | ours | notes |`)
p(`|---|---:|---|`)
const w2 = o('W2'), f2 = fl('W2'), w1 = o('W1'), f1 = fl('W1')
line(`bulk put of ${N} docs`, w2, 'docs/s', w2?.ok && f2?.ok ? `${fmt(N / w2.value! * 1000)} ms vs floor ${fmt(N / f2.value! * 1000)} ms: **${(f2.value! / w2.value!).toFixed(2)}× the floor** (goal ≤ 3×)` : '')
line('1 000 single puts', w1, 'puts/s', w1?.ok && f1?.ok ? `floor (per-doc encrypt + hash + append + fsync) ${fmt(f1.value!)} puts/s: ${(f1.value! / w1.value!).toFixed(2)}× the floor` : '')
line(`${N} random gets`, o('W3'), 'gets/s')
const w6 = o('W6'), w7 = o('W7')
line(`reopen ${N}-doc db + get (fresh process)`, w6, 'ms', w6?.ok ? `read ${fmt(Number(w6.extra?.['bytes read']) / 1e3)} kB of ${w7?.ok ? fmt(Number(w7.extra?.bytes) / 1e3) : '?'} kB on disk (${w7?.extra?.files ?? '?'} files); heap growth after reopen ${fmt(Number(w6.extra?.['heap growth MB']))} MB` : '')
const c5 = o('C5'), c5s = o('C5size')
if (c5?.ok) {
  const e = c5.extra!
  line(`cold get on a ${e.docs}-doc db (${e.docs as number / 1000} transactions of 1 000)`, c5, 'ms',
    `files read ${e['files read']} of ${e['files total']} (${((100 * Number(e['files read'])) / Number(e['files total'])).toFixed(1)}%, goal < 5%); ` +
    `bytes read ${fmt(Number(e['bytes read (rchar)']) / 1e3)} kB of ${fmt(Number(e['bytes total']) / 1e3)} kB (${((100 * Number(e['bytes read (rchar)'])) / Number(e['bytes total'])).toFixed(1)}%, rchar: every read syscall); ` +
    `memory after reopen: heap +${fmt(Number(e['heap growth MB']))} MB, RSS +${fmt(Number(e['rss growth MB']))} MB`)
} else line('cold get on the big db', c5, 'ms')
if (c5s?.ok) p(`| big db on disk | ${fmt(c5s.value!)} MB | ${c5s.extra?.files} files, written as ${Number(c5s.extra?.docs) / 1000} bulks of 1 000 |`)
p()
p(`## Versions`)
p()
for (const s of SYSTEMS) p(`- ${LABELS[s] ?? s}: ${versions.get(s) ?? '?'}`)
p()

const report = lines.join('\n')
console.log('\n' + report)
if (WRITE) {
  writeFileSync(join(here, '..', 'RESULTS.md'), report)
  console.log(`written to apps/bench/RESULTS.md`)
}
