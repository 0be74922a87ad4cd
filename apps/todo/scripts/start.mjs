// Serves the todo page and its party with the PartyKit dev server (workerd, fully offline) and prints the URL.
// PORT overrides the port (default 1999); PERSIST the directory that keeps the rooms (default apps/todo/.data).
// Run `node scripts/build.mjs` (or the root `npm start`, which builds everything) first.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const port = Number(process.env.PORT ?? 1999)
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`PORT must be a TCP port number: ${process.env.PORT}`)
  process.exit(1)
}
const persist = resolve(process.env.PERSIST ?? join(appDir, '.data'))
if (!existsSync(join(appDir, 'public', 'app.js'))) {
  console.error('apps/todo/public/app.js is missing: run `node scripts/pnpm.mjs --filter @proj/todo build` first')
  process.exit(1)
}

const args = ['dev', '--port', String(port), '--persist', persist, '--disable-request-cf-fetch', '--no-hotkeys']
const child = spawn(join(appDir, 'node_modules', '.bin', 'partykit'), args, {
  cwd: appDir,
  detached: true,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, NO_UPDATE_NOTIFIER: '1' },
})

// npm exec -> node partykit -> esbuild + workerd: stop the whole process group with us.
let stopping = false
const stop = (signal) => {
  if (stopping) return
  stopping = true
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop('SIGTERM'))
process.on('exit', () => stop('SIGKILL'))
child.on('exit', (code) => process.exit(stopping ? 0 : (code ?? 1)))

const url = `http://127.0.0.1:${port}`
const started = Date.now()
for (;;) {
  if (Date.now() - started > 60_000) {
    console.error(`partykit dev did not answer on ${url} within 60 s`)
    stop('SIGTERM')
    process.exit(1)
  }
  try {
    const response = await fetch(`${url}/style.css`)
    await response.body?.cancel()
    if (response.ok) break
  } catch {
    // not listening yet
  }
  await new Promise((resolve) => setTimeout(resolve, 150))
}
console.log(`\n  Todo demo: ${url}  (open it, then open its share link in another browser or device; Ctrl-C stops)\n`)
