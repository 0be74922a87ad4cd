import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appDir } from './dev-server.js'

// `npm start` as a person runs it (scripts/start.mjs), with another program holding the port it wants.

let persist: string
const blockers: Server[] = []

beforeAll(async () => {
  // The page that start.mjs serves is built by test/global-setup.ts.
  persist = await mkdtemp(join(tmpdir(), 'proj-todo-start-'))
})

afterAll(async () => {
  await Promise.all(blockers.map((server) => new Promise((resolve) => server.close(resolve))))
  await rm(persist, { recursive: true, force: true })
})

/** Another program listening on `port` (0: any free port), as a user's other server would. Resolves its port. */
function occupy(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.end())
    server.once('error', () => resolve(undefined))
    server.listen(port, '127.0.0.1', () => {
      blockers.push(server)
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : undefined)
    })
  })
}

interface Started {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

function start(env: Record<string, string | undefined>): Started {
  const child = spawn(process.execPath, [join(appDir, 'scripts/start.mjs')], {
    cwd: appDir,
    env: { ...process.env, PERSIST: persist, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  // 'close', not 'exit': 'exit' may come before the last output has been read, which the tests then compare.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

describe('npm start with its port taken', () => {
  it('PORT taken: fails at once with a clear message and exit code 1, and never claims to serve', async () => {
    const port = (await occupy(0))!
    const started = start({ PORT: String(port) })
    expect(await started.exited).toBe(1)
    expect(started.output()).toContain(`port ${port} is already in use by another program`)
    expect(started.output()).toContain('PORT=3000 npm start')
    expect(started.output()).not.toContain('Todo demo:')
  })

  it('a PORT that is no port number is refused by name', async () => {
    const started = start({ PORT: '19x9' })
    expect(await started.exited).toBe(1)
    expect(started.output()).toContain('PORT must be a TCP port number (0-65535; 0 picks a free one), got "19x9"')
  })

  it('no PORT and 1999 taken: serves on a free port and says which', async () => {
    // Taken by this test, or already by something else on this machine: either way taken.
    await occupy(1999)
    const started = start({ PORT: undefined })
    try {
      await expect.poll(started.output, { timeout: 60_000, interval: 100 }).toMatch(/Todo demo: http:\/\/127\.0\.0\.1:\d+/)
      const url = /Todo demo: (http:\/\/127\.0\.0\.1:\d+)/.exec(started.output())![1]!
      const port = Number(new URL(url).port)
      expect(port).not.toBe(1999)
      expect(started.output()).toContain(`Port 1999 is in use by another program: using port ${port} instead.`)
      const page = await fetch(`${url}/`)
      expect(await page.text()).toContain('<title>Todos')
      const party = await fetch(`${url}/parties/main/start-test/meta/main`)
      expect(await party.json()).toEqual({ entries: [] })
    } finally {
      started.child.kill('SIGTERM')
      expect(await started.exited).toBe(0)
    }
  })
})

const SERVING = /Todo demo: (http:\/\/127\.0\.0\.1:\d+)/

/** Waits until `started` serves (resolves its URL) or has said why it will not (resolves undefined). */
async function outcome(started: Started): Promise<string | undefined> {
  await expect.poll(started.output, { timeout: 60_000, interval: 100 }).toMatch(/Todo demo: http|npm start: /)
  return SERVING.exec(started.output())?.[1]
}

async function stop(started: Started): Promise<void> {
  started.child.kill('SIGTERM')
  expect(await started.exited).toBe(0)
}

describe('two npm start over one PERSIST directory', () => {
  it('the second exits 1 naming the first (two servers over one directory do not sync); once the first stops, it starts', async () => {
    const first = start({ PORT: '0' })
    let url: string | undefined
    try {
      url = await outcome(first)
      expect(url).toBeDefined()
      const second = start({ PORT: '0' })
      try {
        // Before, it served the same rooms from a second process: devices on one never saw the other's changes.
        expect(await outcome(second)).toBeUndefined()
        expect(await second.exited).toBe(1)
      } finally {
        second.child.kill('SIGTERM')
      }
      expect(second.output()).toContain(`another npm start (process ${first.child.pid}) already serves the lists kept in ${persist}: open ${url} instead.`)
      expect(second.output()).toContain('PERSIST=<another dir> npm start')
      // The first one goes on serving.
      expect(await (await fetch(`${url}/parties/main/start-test/meta/main`)).json()).toEqual({ entries: [] })
    } finally {
      await stop(first)
    }
    const third = start({ PORT: '0' })
    try {
      expect(await outcome(third)).toMatch(/^http:/)
    } finally {
      await stop(third)
    }
  })

  it('a claim left by a start that is gone (killed, or the machine restarted) does not stop the next one', async () => {
    const gone = spawn(process.execPath, ['-e', ''])
    await new Promise((resolve) => gone.once('exit', resolve))
    await writeFile(join(persist, 'npm-start.lock'), JSON.stringify({ pid: gone.pid, url: 'http://127.0.0.1:1', server: gone.pid }))
    const started = start({ PORT: '0' })
    try {
      expect(await outcome(started)).toMatch(/^http:/)
    } finally {
      await stop(started)
    }
  })
})
