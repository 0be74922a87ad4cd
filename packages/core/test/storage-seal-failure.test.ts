import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { tempDir } from './helpers.js'

/**
 * A seal of the write log (past 8 MiB, and at close) that fails part way: disk full when it creates the
 * segment's index, or an I/O error once the log is renamed into a segment (the directory's fsync, the
 * blanking of record entries). The seal is upkeep: the transaction whose record change started it is already
 * in the log, so it resolves, and every transaction acknowledged after the failure must be read back after a
 * reopen. Before, the write that met the failure rejected (and came back after a reopen), and after a failure
 * past the rename the next writes went on into the renamed file, past its index: lost at the next open.
 */
const real = { openSync: fs.openSync, renameSync: fs.renameSync, fsyncSync: fs.fsyncSync, writeSync: fs.writeSync }
afterEach(restore)

function restore(): void {
  Object.assign(fs, real)
  syncBuiltinESMExports()
}

type Failure = 'index' | 'directory-fsync' | 'blanking'

/** Makes the next seal fail once at `where`; `failed()` tells whether it did. */
function failNextSeal(where: Failure): { failed: () => boolean } {
  let fired = false
  const error = (code: string, syscall: string) =>
    Object.assign(new Error(`${code}: injected, ${syscall}`), { code, errno: code === 'ENOSPC' ? -28 : -5, syscall })
  if (where === 'index') {
    ;(fs as { openSync: unknown }).openSync = (path: fs.PathLike, ...rest: unknown[]) => {
      if (!fired && /\.\d+\.index\.[0-9a-f]+\.tmp$/.test(String(path))) {
        fired = true
        throw error('ENOSPC', 'open')
      }
      return (real.openSync as (...args: unknown[]) => number)(path, ...rest)
    }
  } else {
    ;(fs as { renameSync: unknown }).renameSync = (from: fs.PathLike, to: fs.PathLike) => {
      real.renameSync(from, to)
      if (fired || !/segments[/\\]\d+\.log$/.test(String(to))) return
      fired = true
      if (where === 'directory-fsync') {
        ;(fs as { fsyncSync: unknown }).fsyncSync = () => {
          fs.fsyncSync = real.fsyncSync
          syncBuiltinESMExports()
          throw error('EIO', 'fsync')
        }
      } else {
        ;(fs as { writeSync: unknown }).writeSync = () => {
          fs.writeSync = real.writeSync
          syncBuiltinESMExports()
          throw error('EIO', 'write')
        }
      }
      syncBuiltinESMExports()
    }
  }
  syncBuiltinESMExports()
  return { failed: () => fired }
}

const transaction = (t: number) =>
  Array.from({ length: 100 }, (_, k) => ({ _id: `t${String(t).padStart(3, '0')}-${String(k).padStart(2, '0')}`, body: `${t}-${k}-`.padEnd(900, 'y') }))

describe('a seal of the write log that fails part way', () => {
  for (const durability of ['process', 'power'] as const) {
    for (const where of ['index', 'directory-fsync', 'blanking'] as const) {
      it(`durability '${durability}', failing at the ${where}: the write that started it resolves, and every acknowledged write is read back after a reopen`, async () => {
        const dir = tempDir()
        const db = database('seal-failure', { dir, durability, compactEvery: 0 })
        const injected = failNextSeal(where)
        // ~100 KB transactions: the log passes 8 MiB (a seal) after ~85 of them; 30 more go after the failure.
        const rejected: string[] = []
        for (let t = 0; t < 120; t++) {
          await db.bulk(transaction(t)).catch((error: Error) => rejected.push(`t${t}: ${error.message}`))
          if (t === 100) expect(injected.failed()).toBe(true)
        }
        restore()
        expect(rejected).toEqual([])
        expect((await db.allDocs()).rows).toHaveLength(120 * 100)
        await db.close()
        const again = database('seal-failure', { dir, durability })
        expect((await again.allDocs()).rows).toHaveLength(120 * 100)
        expect((await again.get('t119-99')).body).toMatch(/^119-99-y+$/)
        await again.put({ _id: 'after' })
        await again.close()
        const third = database('seal-failure', { dir })
        expect((await third.get('after'))._id).toBe('after')
        expect((await third.allDocs()).rows).toHaveLength(120 * 100 + 1)
        await third.close()
      }, 120_000)
    }
  }
})
