import { randomBytes } from 'node:crypto'
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { DatabaseLockedError } from '../errors.js'

/**
 * One process at a time per database directory: `<root>/LOCK` names the holder (pid, host, the process's
 * start time where /proc has it, a nonce). It is created complete or not at all (written to a temp
 * file, then hard-linked into place, which fails when LOCK exists). A lock whose process is gone (not
 * running on this host, a zombie, or a pid since reused by a process that started later) is stale and
 * taken over. Inside one process the lock is shared: every storage over the directory counts as a user and
 * the last `release()` removes the file; so does process exit.
 */
interface Holder {
  pid: number
  host: string
  /** /proc/<pid>/stat start time, to tell a reused pid from the holder. */
  start?: string
  nonce: string
}

const LOCK_FILE = 'LOCK'
const held = new Map<string, { nonce: string; users: number }>()
let exitHookInstalled = false

/** Takes the lock of `root` (or joins this process's hold of it). Returns the release function. */
export function lockDirectory(root: string): () => void {
  const path = join(root, LOCK_FILE)
  const mine = held.get(path)
  if (mine) {
    mine.users++
    return releaser(path)
  }
  const me: Holder = { pid: process.pid, host: hostname(), start: startTime(process.pid), nonce: lockNonce() }
  for (let attempt = 0; !create(path, me); attempt++) {
    if (attempt >= 5) throw new Error(`Cannot take the lock ${JSON.stringify(path)}: it keeps changing`)
    const current = readLock(path)
    if (current === undefined) continue // released between our attempt and the read
    const holder = parseHolder(current)
    if (holder && !isStale(holder)) throw new DatabaseLockedError(root, path, holder.pid, holder.host)
    breakStale(path, current)
  }
  held.set(path, { nonce: me.nonce, users: 1 })
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      for (const [lock, { nonce }] of held) removeIfOurs(lock, nonce)
    })
  }
  return releaser(path)
}

let acquired = 0

/**
 * Tells this acquisition's LOCK (and temp file) from any other: the pid and a count tell it from this host's
 * other holders, the time and Math.random from other hosts' and earlier processes'. Not a secret, so not
 * drawn from the CSPRNG, whose first use in a process costs a cold open ~1 ms.
 */
function lockNonce(): string {
  return `${process.pid.toString(36)}.${(acquired++).toString(36)}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`
}

function releaser(path: string): () => void {
  let released = false
  return () => {
    if (released) return
    released = true
    const mine = held.get(path)
    if (!mine || --mine.users > 0) return
    held.delete(path)
    removeIfOurs(path, mine.nonce)
  }
}

/** Creates the lock file complete, or returns false when one exists. */
function create(path: string, holder: Holder): boolean {
  const temp = `${path}.${holder.nonce}.tmp`
  const fd = openSync(temp, 'w')
  try {
    const bytes = Buffer.from(JSON.stringify(holder))
    let offset = 0
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset)
    // No fsync: other processes read the bytes written before the link from the page cache, and a lock a power
    // loss left empty or torn names no holder, which `acquire` treats as stale (so does one left by a crash).
  } finally {
    closeSync(fd)
  }
  try {
    linkSync(temp, path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    unlinkSync(temp)
  }
}

function readLock(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The holder a lock file names; undefined when it names none (then no process can prove it holds it). */
function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.nonce === 'string') return value as Holder
  } catch {}
  return undefined
}

function isStale(holder: Holder): boolean {
  // Another host's process cannot be checked from here: its lock stands until it is released or deleted.
  if (holder.host !== hostname()) return false
  // This process's own holds are in `held`; a lock naming our pid is from an earlier process with this pid.
  if (holder.pid === process.pid) return true
  try {
    process.kill(holder.pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
  const stat = procStat(holder.pid)
  if (!stat) return false
  if (stat.state === 'Z' || stat.state === 'X') return true
  return holder.start !== undefined && stat.start !== holder.start
}

/**
 * Moves the stale lock aside (atomic) and checks it is the one judged stale: if another opener replaced it
 * in the meantime, its fresh lock is put back.
 */
function breakStale(path: string, judged: string): void {
  const aside = `${path}.stale.${randomBytes(6).toString('hex')}`
  try {
    renameSync(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  try {
    if (readFileSync(aside, 'utf8') !== judged) linkSync(aside, path)
  } catch {
    // Another opener created LOCK in the instant between: it holds the directory, the next attempt sees it.
  } finally {
    unlinkSync(aside)
  }
}

function removeIfOurs(path: string, nonce: string): void {
  try {
    const holder = parseHolder(readFileSync(path, 'utf8'))
    if (holder?.nonce === nonce) unlinkSync(path)
  } catch {}
}

function startTime(pid: number): string | undefined {
  return procStat(pid)?.start
}

/** State and start time (in clock ticks since boot) from /proc/<pid>/stat, where Linux has it. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { state: fields[0]!, start: fields[19]! }
  } catch {
    return undefined
  }
}
