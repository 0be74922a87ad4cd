// Serves the todo page and its party with the PartyKit dev server (workerd, fully offline) and prints the URL.
// PORT picks the port: unset, 1999, or the next free one when 1999 is taken (and says so); set, that port or
// a clear failure (exit 1) when it is taken; 0, any free port. PERSIST is the directory that keeps the rooms
// (default apps/todo/.data); one server at a time keeps it (a second npm start on it exits 1, naming the first). Run `node scripts/build.mjs` (or the root `npm start`, which builds everything) first.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const DEFAULT_PORT = 1999

function fail(message) {
  console.error(`\n  npm start: ${message}\n`)
  process.exit(1)
}

/** Resolves with the port once something could listen on it the way partykit does (all interfaces), or false. */
function tryListen(port) {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => {
      const { port: bound } = server.address()
      server.close(() => resolve(bound))
    })
  })
}

async function choosePort() {
  const asked = process.env.PORT
  if (asked === undefined || asked === '') {
    const port = await tryListen(DEFAULT_PORT)
    if (port) return port
    const other = await tryListen(0)
    if (!other) fail(`port ${DEFAULT_PORT} is in use and no free port was found`)
    console.log(`  Port ${DEFAULT_PORT} is in use by another program: using port ${other} instead.`)
    return other
  }
  const port = Number(asked)
  if (!/^\d+$/.test(asked) || port > 65535) fail(`PORT must be a TCP port number (0-65535; 0 picks a free one), got ${JSON.stringify(asked)}`)
  const bound = await tryListen(port)
  if (!bound) {
    fail(
      `port ${port} is already in use by another program (maybe a demo started earlier).\n` +
        `  Stop that program, or choose another port: PORT=3000 npm start (PORT=0 picks a free one).`,
    )
  }
  return bound
}

const persist = resolve(process.env.PERSIST ?? join(appDir, '.data'))
if (!existsSync(join(appDir, 'public', 'app.js'))) {
  fail('apps/todo/public/app.js is missing: run `node scripts/pnpm.mjs --filter @proj/todo build` first')
}

/**
 * Claims `persist` for this server, or fails naming the server that has it. Two servers over one directory
 * each keep the rooms in their own memory and write the same files: devices on one never saw the other's
 * changes, and each overwrote what the other stored.
 */
const lock = join(persist, 'npm-start.lock')
function claimPersist() {
  mkdirSync(persist, { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, JSON.stringify({ pid: process.pid }), { flag: 'wx' })
      process.on('exit', () => {
        try {
          if (JSON.parse(readFileSync(lock, 'utf8')).pid === process.pid) unlinkSync(lock)
        } catch {
          // gone already
        }
      })
      return
    } catch (error) {
      if (error.code !== 'EEXIST') fail(`cannot claim ${persist} for this server: ${error.message}`)
    }
    let holder
    try {
      holder = JSON.parse(readFileSync(lock, 'utf8'))
    } catch {
      holder = undefined // half-written or unreadable: no server can be named, so it is taken as stale
    }
    // This script, or the server it started (which outlives a script killed with SIGKILL).
    if (holder && [holder.pid, holder.server].some((pid) => Number.isInteger(pid) && alive(pid))) {
      fail(
        `another npm start (process ${holder.pid}) already serves the lists kept in ${persist}: open ${holder.url ?? 'it once it is up'} instead.\n` +
          `  Two servers over one directory would not sync with each other. For a second, separate server: PERSIST=<another dir> npm start\n` +
          `  (If process ${holder.pid} is no todo demo, delete ${lock}.)`,
      )
    }
    // Left by a server that is gone (killed, or the machine restarted).
    try {
      unlinkSync(lock)
    } catch {
      // another start removed it first: the next attempt decides
    }
  }
  fail(`cannot claim ${persist} for this server: another npm start claimed it at the same moment`)
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

// Before the port: a second start on a taken 1999 would otherwise first say it moves to another port.
claimPersist()
const port = await choosePort()
const url = `http://127.0.0.1:${port}`
writeFileSync(lock, JSON.stringify({ pid: process.pid, url }))

const args = ['dev', '--port', String(port), '--persist', persist, '--disable-request-cf-fetch', '--no-hotkeys']
const child = spawn(join(appDir, 'node_modules', '.bin', 'partykit'), args, {
  cwd: appDir,
  detached: true,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, NO_UPDATE_NOTIFIER: '1' },
})
writeFileSync(lock, JSON.stringify({ pid: process.pid, url, server: child.pid }))

// npm exec -> node partykit -> esbuild + workerd: stop the whole process group with us.
let stopping = false
const stop = (signal) => {
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopping = true
    stop('SIGTERM')
  })
}
process.on('exit', () => stop('SIGKILL'))

// The port may still be taken between the check above and workerd's bind: partykit then prints the error and
// keeps running without a server, so its output is watched for it.
let failure
const watch = (from, to) =>
  from.on('data', (chunk) => {
    to.write(chunk)
    if (/Address already in use/.test(chunk.toString())) failure ??= `port ${port} was taken by another program while the server started: run npm start again`
  })
watch(child.stdout, process.stdout)
watch(child.stderr, process.stderr)
child.on('exit', (code) => {
  if (stopping) process.exit(0)
  failure ??= `partykit dev exited${code === null ? '' : ` with code ${code}`}`
  fail(failure)
})

// Ready when this server's own party answers (a probe room's meta, as JSON) and the page is served: another
// program on the port would answer neither.
const probe = `${url}/parties/main/start-probe-${randomUUID()}/meta/main`
const started = Date.now()
for (;;) {
  if (failure) {
    stop('SIGTERM')
    fail(failure)
  }
  if (Date.now() - started > 60_000) {
    stop('SIGTERM')
    fail(`partykit dev did not answer on ${url} within 60 s`)
  }
  try {
    const party = await fetch(probe)
    const body = await party.json()
    const page = await fetch(`${url}/app.js`)
    await page.body?.cancel()
    if (party.ok && Array.isArray(body?.entries) && page.ok) break
  } catch {
    // not listening yet
  }
  await new Promise((resolve) => setTimeout(resolve, 150))
}
console.log(`\n  Todo demo: ${url}  (open it, then open its share link in another browser or device; Ctrl-C stops)\n`)
