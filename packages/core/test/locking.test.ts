import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { database, DatabaseLockedError } from '@proj/core'
import { dataFiles, tempDir } from './helpers.js'
import { fixtureBundle } from './node-fixture.js'

const NAME = 'locked'

async function node(dir: string, mode: 'hold' | 'try', id: string): Promise<ChildProcessWithoutNullStreams> {
  return spawn(process.execPath, [await fixtureBundle('lock-holder.ts'), dir, mode, id], { stdio: ['pipe', 'pipe', 'pipe'] })
}

/** Resolves with the child's next stdout line that satisfies `match`. */
function nextLine(child: ChildProcessWithoutNullStreams, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = ''
    let err = ''
    const onData = (chunk: Buffer) => {
      buffer += chunk
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      const found = lines.find(match)
      if (found !== undefined) {
        child.stdout.off('data', onData)
        child.off('close', onExit)
        resolve(found)
      }
    }
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`child exited (${code ?? signal}) before printing the expected line: ${err}`))
    child.stdout.on('data', onData)
    child.stderr.on('data', (chunk) => (err += chunk))
    // 'close', not 'exit': a child that prints its line and exits may be seen exiting before the line is read.
    child.once('close', onExit)
  })
}

function exited(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

async function holder(dir: string, id: string): Promise<ChildProcessWithoutNullStreams> {
  const child = await node(dir, 'hold', id)
  await nextLine(child, (line) => line === 'ready')
  return child
}

interface Attempt {
  ok: boolean
  ids?: string[]
  name?: string
  message?: string
  path?: string
  pid?: number
}

async function attempt(dir: string, id: string): Promise<Attempt> {
  const child = await node(dir, 'try', id)
  return JSON.parse(await nextLine(child, (line) => line.startsWith('{'))) as Attempt
}

describe('one database directory, several processes', () => {
  it('a second process gets DatabaseLockedError naming the path and the holder pid; close() releases the lock', async () => {
    const dir = tempDir()
    const first = await holder(dir, 'from-first')
    try {
      const second = await attempt(dir, 'from-second')
      expect(second).toMatchObject({ ok: false, name: 'DatabaseLockedError', path: join(dir, NAME), pid: first.pid })
      expect(second.message).toContain(join(dir, NAME))
      expect(second.message).toContain(`pid ${first.pid}`)

      // This process is another process too: its open fails the same way, through the public API.
      const here = database(NAME, { dir })
      const error = await here.get('from-first').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DatabaseLockedError)
      expect(error).toMatchObject({ path: join(dir, NAME), pid: first.pid })
      await here.close()

      first.stdin.write('close\n')
      await nextLine(first, (line) => line === 'closed')
      const third = await attempt(dir, 'from-third')
      expect(third).toEqual({ ok: true, ids: ['from-first', 'from-third'] })
    } finally {
      first.kill('SIGKILL')
      await exited(first)
    }
  }, 60_000)

  it('a process that exits without close() leaves no lock behind', async () => {
    const dir = tempDir()
    const first = await holder(dir, 'from-first')
    expect(existsSync(join(dir, NAME, 'LOCK'))).toBe(true)
    first.stdin.write('exit\n')
    await exited(first)
    expect(existsSync(join(dir, NAME, 'LOCK'))).toBe(false)
    expect(await attempt(dir, 'after-exit')).toEqual({ ok: true, ids: ['after-exit', 'from-first'] })
  }, 60_000)

  it('the lock of a process killed with SIGKILL is stale: the next opener takes it over and keeps its writes', async () => {
    const dir = tempDir()
    const killed = await holder(dir, 'from-killed')
    killed.kill('SIGKILL')
    await exited(killed)
    expect(existsSync(join(dir, NAME, 'LOCK'))).toBe(true)
    expect(await attempt(dir, 'after-kill')).toEqual({ ok: true, ids: ['after-kill', 'from-killed'] })
    // The recovered lock was released again on close: a process that opens now succeeds too, and so does this one.
    const db = database(NAME, { dir })
    expect((await db.allDocs()).rows.map((row) => row.key)).toEqual(['after-kill', 'from-killed'])
    await db.close()
  }, 60_000)

  it('a LOCK a power loss left empty or torn names no holder: the next opener takes it over', async () => {
    for (const left of ['', '{"pid":12', '\u0000\u0000\u0000']) {
      const dir = tempDir()
      const first = await holder(dir, 'before')
      first.stdin.write('exit\n')
      await exited(first)
      writeFileSync(join(dir, NAME, 'LOCK'), left)
      expect(await attempt(dir, 'after')).toEqual({ ok: true, ids: ['after', 'before'] })
      expect(existsSync(join(dir, NAME, 'LOCK'))).toBe(false)
    }
  }, 60_000)

  it('two database() instances in one process share the directory: both see both writes, the lock lasts until both close', async () => {
    const dir = tempDir()
    // compactEvery 3: each tries to compact while the other is open, which must not delete the other's files.
    const a = database(NAME, { dir, compactEvery: 3 })
    const b = database(NAME, { dir, compactEvery: 3 })
    // Both at once, several times: neither instance's head may drop the other's writes.
    await Promise.all([
      (async () => {
        for (let i = 0; i < 10; i++) await a.put({ _id: `a${i}` })
      })(),
      (async () => {
        for (let i = 0; i < 10; i++) await b.put({ _id: `b${i}` })
      })(),
    ])
    const expected = [...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 10 }, (_, i) => `b${i}`)]
    const keys = async (db: typeof a) => (await db.allDocs()).rows.map((row) => row.key)
    await expect.poll(() => keys(a)).toEqual(expected)
    await expect.poll(() => keys(b)).toEqual(expected)
    await a.close()
    expect(await attempt(dir, 'other-process')).toMatchObject({ ok: false, name: 'DatabaseLockedError', pid: process.pid })
    // Alone now: b compacts for real.
    const before = dataFiles(dir, NAME).length
    await b.compact()
    expect(dataFiles(dir, NAME).length).toBeLessThan(before)
    expect(await keys(b)).toEqual(expected)
    await b.close()
    const reopened = database(NAME, { dir })
    expect(await keys(reopened)).toEqual(expected)
    await reopened.close()
    expect((await attempt(dir, 'other-process')).ok).toBe(true)
  }, 60_000)
})
