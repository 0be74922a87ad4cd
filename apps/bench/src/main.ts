/**
 * Orchestrator: runs every system's workloads in child processes (one system per process, never two in one
 * heap), kills a child that stalls, keeps going when a peer fails, and writes the report.
 *
 *   node --import tsx src/main.ts [--quick] [--runs 3] [--n 10000] [--timeout 120]
 *        [--systems floor,ours,ours-process,pouch-leveldb,pouch-memory,fireproof] [--write | --no-write]
 *        [--workloads W1,W8b]   only these workloads (a quick look: RESULTS.md is not written)
 *   node --import tsx src/main.ts --soak [1000] [--replicas 3]   seeded fault runs (SOAK.md)
 *   node --import tsx src/main.ts --soak-time 60 [--replicas 3] [--seed 1]   timed soak
 *   node --import tsx src/main.ts --attachments [--attachment-mb 100] [--attachment-transport raw|s3|partykit]
 *        only W10 (attachments); s3 / partykit start radosgw / `partykit dev` on 127.0.0.1
 *   node --import tsx src/main.ts --scale 10000,100000,1000000 [--systems ours,ours-process,pouch-leveldb]
 *        how each cost grows with N (src/scale.ts): merged into SCALE.json, the Scale section of RESULTS.md
 *   node --import tsx src/main.ts --crash-soak [200] [--levels process,power]
 *        kill -9 rounds of the local write path (packages/core/bench/crash-soak.ts), writes CRASH-SOAK.md
 * A run with `ours` also runs W10 (100 MiB, quick 16 MiB; --attachment-mb N, --no-attachments).
 */
import { fork, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertBuilt } from './built-packages.js'
import { meanDocBytes } from './docs.js'
import { median } from './util.js'
import type { Task, WorkloadResult } from './workloads.js'
import { singleCounts, UNITS } from './workloads.js'

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2).filter((a) => a !== '--')
const flag = (name: string) => argv.includes(`--${name}`)
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}

assertBuilt(join(here, '..', '..', '..'))

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

if (flag('crash-soak')) {
  // The write path's kill -9 soak (issue 14: at least 200 rounds here, 25 in CI): a child writes single puts
  // and bulks and is killed at a random moment, then every acknowledged write must be there.
  const rounds = /^\d+$/.test(opt('crash-soak', '200')) ? opt('crash-soak', '200') : '200'
  const levels = opt('levels', 'process,power')
  const script = join(here, '..', '..', '..', 'packages', 'core', 'bench', 'crash-soak.ts')
  const started = new Date().toISOString().slice(0, 16) + 'Z'
  const run = spawnSync(process.execPath, [...process.execArgv, script, rounds, levels, opt('seed', '7')], {
    cwd: join(here, '..', '..', '..', 'packages', 'core'),
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  })
  const result = run.stdout.trim().split('\n').at(-1) ?? ''
  console.log(result)
  if (!flag('no-write')) {
    const rows = (JSON.parse(result || '[]') as { durability: string; rounds: number; acknowledged: number; roundsLosingWrites: number; seconds: number }[])
      .map((r) => `| ${r.durability} | ${r.rounds} | ${r.acknowledged} | ${r.roundsLosingWrites} | ${r.seconds} |`)
    writeFileSync(
      join(here, '..', 'CRASH-SOAK.md'),
      `# kill -9 soak of the local write path\n\nRun ${started}, ${os.cpus().length} cores, Node ${process.version}, load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}. ` +
        `Command: \`npm run bench -- --crash-soak ${rounds} --levels ${levels}\` (packages/core/bench/crash-soak.ts). Each round a child process writes single puts and bulks of 20 ` +
        `(delta events, a checkpoint every 32 events and after each reopen) and is killed with SIGKILL 1–150 ms after its first acknowledged write; ` +
        `the database is then opened (its newest file read), must hold every write any child acknowledged, and takes a write.\n\n` +
        `| durability | rounds | acknowledged writes | rounds that lost an acknowledged write | seconds |\n|---|---:|---:|---:|---:|\n${rows.join('\n')}\n`,
    )
  }
  process.exit(run.status ?? 1)
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

/**
 * W10 (attachments, src/attachments.ts) in a child process of its own (its RSS is its own), killed after
 * `timeoutMs`: the report's section, or a FAILED line with the reason.
 */
async function runAttachments(mb: number, timeoutMs: number, command: string, transport = 'raw'): Promise<string> {
  const { attachmentSection } = await import('./attachments.js')
  const root = mkdtempSync(join(os.tmpdir(), 'bench-attachments-'))
  console.log(`W10 attachments: ${mb} MiB through connect.${transport}, against the floor ...`)
  try {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'attachments.ts'), JSON.stringify({ root, mb, transport })], {
      cwd: join(here, '..'),
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 1 << 20,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    })
    const when = `${new Date().toISOString().slice(0, 16)}Z`
    if (r.status !== 0) {
      const why = r.signal ? `killed after ${timeoutMs / 1000} s` : (r.stderr ?? '').trim().split('\n').slice(-3).join(' | ').slice(0, 400)
      console.log(`  FAILED: ${why}`)
      return `## W10 attachments: ${mb} MiB through connect.${transport}\n\n${when}. Command: \`${command}\`. **FAILED**: ${why}\n`
    }
    return attachmentSection(JSON.parse(r.stdout.trim().split('\n').pop()!), when, command)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

if (flag('scale-report')) {
  // Only renders the Scale section again from SCALE.json (after an edit of the report code, or a run cut short).
  const { renderScale } = await import('./scale.js')
  renderScale(undefined, { write: !flag('no-write'), command: opt('scale-command', 'npm run bench -- --scale 10000,100000,1000000') })
  process.exit(0)
}

if (flag('scale')) {
  // Scale mode: `--scale 10000,100000,1000000`; default systems ours, ours-process, pouch-leveldb (Fireproof on
  // request: without a start key in its allDocs, each page of S-page reads the full list).
  const { runScale } = await import('./scale.js')
  const sizes = opt('scale', '10000,100000').split(',').map(Number)
  if (sizes.some((n) => !Number.isInteger(n) || n < 1000)) throw new TypeError(`--scale takes sizes of at least 1000, got ${JSON.stringify(opt('scale', ''))}`)
  await runScale({
    sizes,
    systems: opt('systems', 'ours,ours-process,pouch-leveldb').split(','),
    timeoutS: argv.includes('--timeout') ? Number(opt('timeout', '0')) : undefined,
    write: !flag('no-write'),
    command: `npm run bench -- ${argv.join(' ')}`,
  })
  process.exit(0)
}

if (flag('attachments')) {
  // Only W10: `--attachments [--attachment-mb 100] [--attachment-transport raw|s3|partykit]`; prints its
  // section (RESULTS.md is written by full runs). s3 and partykit start their server here (packages/test-utils).
  const mb = Number(opt('attachment-mb', '100'))
  const transport = opt('attachment-transport', 'raw')
  if (!['raw', 's3', 'partykit'].includes(transport)) throw new TypeError(`--attachment-transport must be raw, s3 or partykit, got ${JSON.stringify(transport)}`)
  console.log('\n' + (await runAttachments(mb, Number(opt('timeout', '1800')) * 1000, `npm run bench -- ${argv.join(' ')}`, transport)))
  process.exit(0)
}

const quick = flag('quick') || process.env.BENCH_QUICK === '1'
const N = Number(opt('n', quick ? '1000' : '10000'))
const RUNS = Number(opt('runs', quick ? '1' : '3'))
const TIMEOUT_MS = Number(opt('timeout', quick ? '8' : '120')) * 1000
/** `ours` is the core's default durability ('power'); `ours-process` passes durability: 'process' (equal to PouchDB's). */
const SYSTEMS = opt('systems', 'floor,ours,ours-process,pouch-leveldb,pouch-memory,fireproof').split(',')
const WRITE = !flag('workloads') && (flag('write') || (!quick && !flag('no-write')))
const isOurs = (s: string) => s === 'ours' || s.startsWith('ours-')
const PEERS = SYSTEMS.filter((s) => !isOurs(s) && s !== 'floor')
const OURS = SYSTEMS.filter(isOurs)

/**
 * Standalone repros (apps/bench/repro/) per peer workload. A peer's failed check is never reported as the peer's
 * failure unless its repro, run after the bench, confirms it (exit code 2: the replica's own store lacks the docs).
 */
const REPROS: Record<string, Partial<Record<string, string[]>>> = {
  fireproof: {
    W8a: ['fireproof-replication.ts'],
    W8b: ['fireproof-replication.ts'],
    W6: ['fireproof-reopen.ts', '--fresh'],
    W9: ['fireproof-reopen.ts'],
  },
  'pouch-leveldb': { W8a: ['pouchdb-replication.ts'], W8b: ['pouchdb-replication.ts'] },
  'pouch-memory': { W8a: ['pouchdb-replication.ts', '--adapter', 'memory'], W8b: ['pouchdb-replication.ts', '--adapter', 'memory'] },
}

/** Our sync transports measured in W8 (rows W8a/W8b = MemoryConnector, .raw = connect.raw over a Map).
 * HOOK: add 'partykit' here (and its transport in systems.ts makeTransport) when connect-partykit is ready. */
const OUR_SYNC_TRANSPORTS = ['memory', 'raw']

const LABELS: Record<string, string> = {
  floor: 'floor',
  ours: '@proj/core',
  'ours-process': "@proj/core 'process'",
  'pouch-leveldb': 'PouchDB LevelDB',
  'pouch-memory': 'PouchDB memory',
  fireproof: 'Fireproof',
}

type Result = WorkloadResult

/** `--workloads W1,W8b`: only these (and what they need, W6prep for W6), for a quick look; never written. */
const ONLY = flag('workloads') ? new Set(opt('workloads', '').split(',')) : undefined

function workloadsOf(system: string): { batch: string[]; fresh: string[][] } {
  const all = allWorkloadsOf(system)
  if (!ONLY) return all
  const wanted = (w: string) => ONLY.has(w) || (w === 'W6prep' && ONLY.has('W6')) || (w === 'C5prep' && ONLY.has('C5'))
  return { batch: all.batch.filter(wanted), fresh: all.fresh.filter(([w]) => wanted(w!)) }
}

function allWorkloadsOf(system: string): { batch: string[]; fresh: string[][] } {
  if (system === 'floor') return { batch: ['W1', 'W2', 'W7', 'W9'], fresh: [] }
  // The memory adapter keeps nothing across processes: W6 (reopen in a fresh process) and W7 (disk) are n/a.
  if (system === 'pouch-memory') return { batch: ['W1', 'W2', 'W3', 'W4', 'W5', 'W8a', 'W8b', 'W9'], fresh: [] }
  const batch = ['W1', 'W2', 'W3', 'W4', 'W5', 'W8a', 'W8b']
  batch.push('W9')
  if (system === 'ours') for (const t of OUR_SYNC_TRANSPORTS) if (t !== 'memory') batch.push(`W8a.${t}`, `W8b.${t}`)
  if (isOurs(system)) batch.push('W8c')
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

/** Ours fail; a peer's run only gives no result until a repro confirms it (see REPROS). */
const failedWord = (system: string) =>
  isOurs(system) || system === 'floor' ? ' FAILED' : ' no result (a check of this harness, not a verdict on the peer)'

function runChild(task: Task, versions: Map<string, string>, env: NodeJS.ProcessEnv): Promise<Result[]> {
  return new Promise((resolve) => {
    const results: Result[] = []
    let current: string | undefined
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    const child = fork(join(here, 'child.ts'), [JSON.stringify(task)], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
    })
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000)
    })
    // Loading a system (tsx compiling its sources, a peer's module graph) is not a workload: it gets its own,
    // longer allowance, and a kill during it says so.
    const LOAD_MS = Math.max(TIMEOUT_MS, 120_000)
    const arm = (ms = TIMEOUT_MS) => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        if (!loadedSystem) stderr += `\nkilled: ${task.system} did not load within ${ms / 1000} s`
        if (current) {
          results.push({ workload: current, ok: false, error: `stalled: no result after ${TIMEOUT_MS / 1000} s (child killed)`, rssMb: 0 })
          process.stdout.write(`${failedWord(task.system)}: stalled, killed after ${TIMEOUT_MS / 1000} s\n`)
        }
        current = undefined
        child.kill('SIGKILL')
      }, ms)
    }
    let loadedSystem = false
    arm(LOAD_MS)
    child.on('message', (msg: { type: string } & Record<string, unknown>) => {
      if (msg.type === 'version') {
        loadedSystem = true
        versions.set(task.system, String(msg.version))
        durabilities.set(task.system, String(msg.durability))
      }
      else if (msg.type === 'start') {
        current = String(msg.workload)
        arm()
        process.stdout.write(`  ${LABELS[task.system] ?? task.system} ${current} ...`)
      } else if (msg.type === 'result') {
        const r = msg as unknown as Result
        results.push(r)
        current = undefined
        process.stdout.write(r.ok ? ` ${fmt(r.value!)} ${UNITS[r.workload.replace(/\..*$/, '')]?.unit ?? ''}\n` : `${failedWord(task.system)}: ${r.error}\n`)
      } else if (msg.type === 'fatal') stderr += String(msg.error)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (current) {
        const why = stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300)
        results.push({ workload: current, ok: false, error: `child exited (${signal ?? code}) during the workload: ${why}`, rssMb: 0 })
        process.stdout.write(`${failedWord(task.system)} (child exited ${signal ?? code})\n`)
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
/** What is measured: the commit, and whether the core's sources had uncommitted changes (built with them). */
function codeState(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: join(here, '..', '..', '..'), encoding: 'utf8' }).stdout?.trim() ?? '?'
  const dirty = git('status', '--porcelain', '--', 'packages/core/src').split('\n').filter(Boolean).length
  return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ` with uncommitted changes in ${dirty} file(s) of packages/core/src (measured as they were)` : ', packages/core/src clean'}`
}
const codeAtStart = codeState()
const started = Date.now()
const versions = new Map<string, string>()
const durabilities = new Map<string, string>()
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
/**
 * W1 takes under a second a run and moves most from run to run with the machine's load (PouchDB LevelDB's
 * medians of 3 were 3 002 and 2 133 puts/s in two full runs of one afternoon): a full run takes its median
 * over more runs, and runs it round by round, each system once per round, so that a change of load in
 * the middle of the run weighs on every system alike rather than on whichever ran then.
 */
const W1_RUNS = Math.max(RUNS, 7)
const w1InTurn = quick ? [] : SYSTEMS.filter((system) => workloadsOf(system).batch.includes('W1'))
if (w1InTurn.length) {
  console.log(`W1, ${W1_RUNS} rounds, each system once a round:`)
  const roots = new Map(w1InTurn.map((system) => [system, mkdtempSync(join(os.tmpdir(), `bench-${system}-W1-`))]))
  /** Time each system's own runs took: a very slow one (a peer at 100 puts/s) stops after 30 s of them. */
  const spent = new Map<string, number>()
  try {
    for (let k = 0; k < W1_RUNS; k++) {
      for (const system of w1InTurn) {
        // A failure is the result: no need to fail again in the next rounds.
        if (all.get(system)?.get('W1')?.some((r) => !r.ok)) continue
        if ((spent.get(system) ?? 0) > 30_000) continue
        const sub = mkdtempSync(join(roots.get(system)!, 'W1-'))
        const start = Date.now()
        for (const r of await runChildren(system, ['W1'], sub, versions)) add(system, r)
        spent.set(system, (spent.get(system) ?? 0) + Date.now() - start)
      }
    }
  } finally {
    for (const root of roots.values()) rmSync(root, { recursive: true, force: true })
  }
}
/**
 * W6 (and C5), reopens in a fresh process, move with the load as W1 does (one slow run in three moved a median
 * by 40 %): a full run takes them in rounds too, each system once a round, once every system's database is
 * written, so that the runs of every system see the same machine.
 */
const FRESH_RUNS = quick ? RUNS : Math.max(RUNS, 7)
const freshRoots = new Map<string, string>()
try {
  for (const system of SYSTEMS) {
    console.log(`${LABELS[system] ?? system}:`)
    const { batch, fresh } = workloadsOf(system)
    const root = mkdtempSync(join(os.tmpdir(), `bench-${system}-`))
    if (!quick && fresh.length) freshRoots.set(system, root)
    try {
      if (quick) {
        // One process for the batch (peak RSS is then cumulative), a fresh one for each reopen.
        for (const r of await runChildren(system, batch, root, versions)) add(system, r)
        for (const f of fresh) for (const r of await runChildren(system, f, root, versions, f[0] === 'C5' ? { BENCH_COUNT_FS: '1' } : {})) add(system, r)
      } else {
        const once = new Set(['W6prep', 'C5prep', 'W7'])
        let firstStart = 0
        for (const w of batch) {
          // W1 ran above, the systems in turn.
          if (w === 'W1' && w1InTurn.includes(system)) continue
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
      }
    } finally {
      if (!freshRoots.has(system)) rmSync(root, { recursive: true, force: true })
    }
  }
  if (freshRoots.size) console.log(`W6/C5, ${FRESH_RUNS} rounds, each system once a round:`)
  for (let k = 0; k < FRESH_RUNS; k++) {
    for (const [system, root] of freshRoots) {
      for (const f of workloadsOf(system).fresh) {
        // A failure is the result: no need to fail again in the next rounds.
        if (all.get(system)?.get(f[0]!)?.some((r) => !r.ok)) continue
        for (const r of await runChildren(system, f, root, versions, f[0] === 'C5' ? { BENCH_COUNT_FS: '1' } : {})) add(system, r)
      }
    }
  }
} finally {
  for (const root of freshRoots.values()) rmSync(root, { recursive: true, force: true })
}
/** W10, attachments: with ours, 100 MiB (quick: 16 MiB), `--attachment-mb` to change it. */
const attachmentReport = SYSTEMS.includes('ours') && !flag('no-attachments') && (!ONLY || ONLY.has('W10'))
  ? await runAttachments(Number(opt('attachment-mb', quick ? '16' : '100')), (quick ? 120 : 600) * 1000,
      `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`)
  : undefined
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

/** Rows read from a workload's extras: `<workload>:<key>`. */
const DERIVED: Record<string, { extra: string; unit: string; title: string }> = {
  'W8b:p50': { extra: 'latency p50 ms', unit: 'ms', title: 'W8b live latency p50: put acknowledged on A → change seen on B (subscribe / changes feed)' },
  'W8b:p99': { extra: 'latency p99 ms', unit: 'ms', title: 'W8b live latency p99 (same)' },
  'W8c:p99': { extra: 'latency p99 ms', unit: 'ms', title: 'W8c live latency p99 through `partykit dev` (same)' },
  'W9:p90': { extra: 'p90', unit: 'B/put', title: 'W9 bytes written locally per single put (p90)' },
}
const ROWS = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7', 'W8a', 'W8b', 'W8b:p50', 'W8b:p99', 'W8c', 'W8c:p99', 'W9', 'W9:p90',
  ...OUR_SYNC_TRANSPORTS.filter((t) => t !== 'memory').flatMap((t) => [`W8a.${t}`, `W8b.${t}`])]
const baseOf = (w: string) => w.replace(/[.:].*$/, '')
const unitOf = (w: string) => DERIVED[w]?.unit ?? UNITS[baseOf(w)]!.unit
const higherIsBetter = (w: string) => !DERIVED[w] && UNITS[baseOf(w)]!.higherIsBetter
const rowTitle = (w: string) => {
  if (DERIVED[w]) return DERIVED[w].title
  const u = UNITS[baseOf(w)]!
  const counts = singleCounts(quick)
  const t = u.title.replace('1 000 single', `${counts.puts} single`).replace('1 000 writes', `${counts.live} writes`).replace(/\bN\b/g, N.toLocaleString('en-US').replace(/,/g, ' '))
  if (w.endsWith('.raw')) return `${t.split(' ')[0]}.raw ours through connect.raw over a Map (poll 100 ms)`
  if (w.startsWith('W8') && !w.startsWith('W8c')) return `${t} (ours: MemoryConnector)`
  return t
}
/** A row's cell: the workload's own, or for a derived row the workload's extra. */
function rowCell(system: string, w: string): Cell | undefined {
  const d = DERIVED[w]
  if (!d) return cell(system, w)
  const c = cell(system, w.split(':')[0]!)
  if (!c?.ok) return c
  const v = c.extra?.[d.extra]
  return typeof v === 'number' ? { ...c, value: v } : undefined
}

// ------------------------------------------------------------------------------------------------ repros
/** `${system} ${workload}` -> what its repro found. Run only for a peer's failed run. */
const verdicts = new Map<string, { confirmed: boolean; command: string; output: string }>()
{
  const ran = new Map<string, { confirmed: boolean; command: string; output: string }>()
  for (const s of PEERS)
    for (const [w, args] of Object.entries(REPROS[s] ?? {})) {
      const c = cell(s, w)
      if (!c || c.ok || !args) continue
      const key = args.join(' ')
      if (!ran.has(key)) {
        const live = singleCounts(quick).live
        const full = [...args.slice(1), '--n', String(N), '--live', String(live), '--timeout', String(Math.round(TIMEOUT_MS / 1000))]
        const command = `node --import tsx apps/bench/repro/${args[0]} ${full.join(' ')}`
        console.log(`repro for ${LABELS[s] ?? s} ${w}: ${command}`)
        const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, '..', 'repro', args[0]!), ...full], {
          cwd: join(here, '..'),
          encoding: 'utf8',
          timeout: 3 * TIMEOUT_MS + 60_000,
          env: { ...process.env, NODE_NO_WARNINGS: '1' },
        })
        // The repro's verdict is its last line with "confirmedFailure" (peers log to stdout too).
        const verdict = (r.stdout ?? '').split('\n').filter((l) => l.includes('"confirmedFailure"') || l.includes('"reproError"')).pop()
        const output = verdict ?? `did not finish (${r.signal ? `killed after ${Math.round((3 * TIMEOUT_MS + 60_000) / 1000)} s` : `exit ${r.status}`}), no verdict`
        ran.set(key, { confirmed: r.status === 2 && verdict !== undefined, command, output })
        console.log(`  ${r.status === 2 ? 'CONFIRMED' : 'not confirmed'}: ${output}`)
      }
      verdicts.set(`${s} ${w}`, ran.get(key)!)
    }
}

const showAt = (s: string, w: string): string => {
  if (s === 'pouch-memory' && (w === 'W6' || w === 'W7')) return 'n/a (memory)'
  const c = rowCell(s, w)
  if (!c) return '—'
  if (c.ok) return fmt(c.value!)
  if (isOurs(s) || s === 'floor') return 'FAILED'
  return verdicts.get(`${s} ${baseOf(w)}`)?.confirmed ? 'failed (repro confirms)‡' : 'no result†'
}

/** How many times better ours is than `other` (>1: ours faster/smaller). */
function ratio(w: string, ours: Cell | undefined, other: Cell | undefined): string {
  if (!ours?.ok || !other?.ok || !ours.value || !other.value) return '—'
  const r = higherIsBetter(w) ? ours.value / other.value : other.value / ours.value
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`
}
/** power / process / memory, from the system's own statement (systems.ts DURABILITY). */
const durabilityTag = (s: string): string => {
  const d = durabilities.get(s) ?? ''
  return d.startsWith('power') ? 'power' : d.startsWith('process') ? 'process' : d.startsWith('none') ? 'memory' : '?'
}
const head = (s: string) => `${LABELS[s] ?? s} [${durabilityTag(s)}]`

const lines: string[] = []
const p = (s = '') => lines.push(s)
const cpus = os.cpus()
p(`# Benchmark results`)
p()
p(`${quick ? 'QUICK run (not the committed figures)' : 'Full run'}: ${new Date().toISOString().slice(0, 16)}Z, ${cpus.length} × ${cpus[0]?.model?.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}. ` +
  `N = ${N.toLocaleString('en-US')} docs of ~${meanDocBytes()} B JSON; medians of ${RUNS} run(s)${quick ? '' : ` (W1: ${W1_RUNS}, W6 and C5: ${FRESH_RUNS}, in rounds of one run of each system)`}, each system in its own process` +
  `${quick ? ' (quick: one process per system, so peak RSS is cumulative)' : ' (one process per workload per run)'}; took ${elapsed.toFixed(0)} s; load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (other jobs share these 2 cores).`)
p(`Code: at the start ${codeAtStart}; at the end ${codeState()}.`)
p(`Command: \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\` at the root (or \`node scripts/pnpm.mjs --filter @proj/bench run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\`).`)
p()
p(`Every column carries its system's durability, what an acknowledged write survives: **[power]** power-loss safe (fsync before the write resolves), ` +
  `**[process]** a process crash (kill -9) but not a power loss (written to the OS, no fsync per write), **[memory]** nothing. ` +
  `The fair pairs are equal levels: \`@proj/core 'process'\` against PouchDB LevelDB and Fireproof, \`@proj/core\` (default 'power') against the floor.`)
p()
p(`Ratios read "ours is k× better": for rates ours ÷ peer, for times and bytes peer ÷ ours (> 1: ours wins). ` +
  `The floor column is the raw work (AES-256-GCM + SHA-256 + fsync'd append of the same bytes); "ours ÷ floor" is ours' time over the floor's (1× = at the hardware).`)
p()
const pairs = OURS.flatMap((o) => PEERS.map((peer) => [o, peer] as const))
const cols = (xs: string[]) => xs.map((x) => ` ${x} |`).join('')
p(`| workload | unit |${cols(SYSTEMS.map(head))}${cols(pairs.map(([o, peer]) => `${LABELS[o] ?? o} vs ${LABELS[peer] ?? peer}`))} ours ÷ floor |`)
p(`|---|---|${cols(SYSTEMS.map(() => '---:'))}${cols(pairs.map(() => '---:'))}---:|`)
p(`| durability | |${cols(SYSTEMS.map((s) => durabilityTag(s)))}${cols(pairs.map(([o, peer]) => (durabilityTag(o) === durabilityTag(peer) ? 'equal' : `${durabilityTag(o)} vs ${durabilityTag(peer)}`)))} |`)
for (const w of ROWS) {
  const ours = rowCell('ours', w)
  const fl = rowCell('floor', w)
  let floorRatio = '—'
  if (ours?.ok && fl?.ok && ours.value && fl.value) floorRatio = `${(higherIsBetter(w) ? fl.value / ours.value : ours.value / fl.value).toFixed(2)}×`
  p(`| ${rowTitle(w)} | ${unitOf(w)} |${cols(SYSTEMS.map((s) => showAt(s, w)))}${cols(pairs.map(([o, peer]) => ratio(w, rowCell(o, w), rowCell(peer, w))))} ${floorRatio} |`)
}
p()
p(`W9 counts the bytes the process hands to write(2) (\`/proc/self/io\` wchar) while each of ${200} awaited puts of a ~${meanDocBytes()} B doc runs, on an N-doc database loaded in an earlier session; ` +
  `"mean incl. background" in the details adds what is written after a put resolved (compaction, WAL clean-up), up to 500 ms after the last put. Floor: the sealed doc it appends.`)
p()
p(`## Durability of each system`)
p()
for (const s of SYSTEMS) p(`- ${LABELS[s] ?? s}: ${durabilities.get(s) ?? '?'}`)
p()
p(`## Peak RSS per workload (MB, VmHWM of the process${quick ? '; cumulative in quick mode' : ''})`)
p()
p(`| workload | ${SYSTEMS.map(head).join(' | ')} |`)
p(`|---|${SYSTEMS.map(() => '---:').join('|')}|`)
for (const w of ROWS.filter((r) => !DERIVED[r])) p(`| ${w} | ${SYSTEMS.map((s) => { const c = cell(s, w); return c && c.rssMb ? c.rssMb.toFixed(0) : '—' }).join(' | ')} |`)
// W6's peak includes the harness' count check (ours and PouchDB: their info()'s count, ours walking the tree's
// leaves; Fireproof: allDocs, every doc): the open + get alone is its own row.
p(`| W6 open + get only (before the count check) | ${SYSTEMS.map((s) => { const v = cell(s, 'W6')?.extra?.['peak RSS at get MB']; return typeof v === 'number' ? v.toFixed(0) : '—' }).join(' | ')} |`)
p()
p(`## Runs without a result`)
p()
p(`† A run of this harness that gave no result: not a verdict on the peer. ‡ A peer failure its standalone repro confirmed (the repro reads the peer's own store after its run). ` +
  `Repros: [repro/fireproof-replication.ts](./repro/fireproof-replication.ts), [repro/fireproof-reopen.ts](./repro/fireproof-reopen.ts), [repro/pouchdb-replication.ts](./repro/pouchdb-replication.ts); a peer workload without a repro is never reported as the peer's failure.`)
p()
let failures = 0
for (const s of SYSTEMS)
  for (const w of [...ROWS.filter((r) => !DERIVED[r]), 'C5', 'C5size']) {
    const c = cell(s, w)
    if (c && !c.ok) {
      failures++
      const v = verdicts.get(`${s} ${w}`)
      const why = isOurs(s) || s === 'floor' ? 'FAILED' : v ? (v.confirmed ? 'confirmed by its repro' : 'its repro did not reproduce it') : 'no repro for this workload: harness result only'
      p(`- **${LABELS[s] ?? s} ${w}** (${why}): ${c.error}${v ? `. Repro \`${v.command}\` → \`${v.output}\`` : ''}`)
    }
  }
if (!failures) p('None.')
p()
p(`## Details (medians)`)
p()
for (const s of SYSTEMS)
  for (const w of ROWS.filter((r) => !DERIVED[r])) {
    const c = cell(s, w)
    if (c?.ok)
      p(`- ${LABELS[s] ?? s} ${w}: runs ${c.runs}${Object.keys(c.extra ?? {}).length ? ', ' : ''}${Object.entries(c.extra ?? {}).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`).join(', ')}`)
  }
p(`- W5 query per system: ours \`db.query('n', { range, includeDocs: true })\` (secondary index); Fireproof \`db.query('n', { range, includeDocs: true })\`; ` +
  `PouchDB \`allDocs({ startkey, endkey, include_docs: true })\` on the primary index (ids encode n, PouchDB's fastest range read; a mango or map/reduce index would be slower).`)
p(`- W8: ours replicates through \`db.connect(new MemoryConnector(backend))\` (two databases, separate dirs, one MemoryBackend) and through \`connect.raw\`'s connector over a Map; ` +
  `PouchDB through \`a.replicate.to(b)\` (W8a) and \`PouchDB.sync(a, b, { live: true })\` (W8b); Fireproof through \`attach()\` of both ledgers to one shared file store, ` +
  `set up as Fireproof's own attach tests do: the same named store key \`storekey=@fireproof:attach@\` on both ledgers and the shared store, \`selfReflect\` on the shared store ` +
  `(same setup: [repro/fireproof-replication.ts](./repro/fireproof-replication.ts)). Fireproof's A is closed and reopened (untimed) after its N docs are written: attached in the ` +
  `session that wrote them, 0.24.19 leaves B unable to read them (\`missing block\`; \`repro/fireproof-replication.ts --same-session\`). ` +
  `W8c (ours only; PouchDB has no PartyKit transport): connect-partykit's built connector on both databases, one room of a \`partykit dev\` (workerd, local room storage) started by the child on 127.0.0.1 with the package's test fixture; ${quick ? 50 : 200} puts made one at a time, each after the previous one reached B, so the figure is a put's latency without queueing behind earlier ones (a burst queues behind what the dev server stores per second).`)
p()
if (attachmentReport) {
  p(attachmentReport.trimEnd())
  p()
}
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
{
  // The fault soak is another command (--soak); keep its section from the committed report.
  const previous = existsSync(join(here, '..', 'RESULTS.md')) ? readFileSync(join(here, '..', 'RESULTS.md'), 'utf8') : ''
  const soak = /\n(## Fault soak[\s\S]*?)\n## /.exec(previous)?.[1]
  if (soak) {
    p(soak.trimEnd())
    p()
  }
  // W10 through S3 / PartyKit runs only on request (--attachments --attachment-transport ...): keep those too.
  // The Scale section (--scale, src/scale.ts) too.
  for (const section of previous.matchAll(/\n(## (?:W10\.(?:s3|partykit)|Scale\b)[\s\S]*?)(?=\n## )/g)) {
    p(section[1]!.trimEnd())
    p()
  }
}
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
