/**
 * How far an acknowledged write is guaranteed to survive:
 * - `'process'`: a crash of the process (kill -9, an uncaught error) loses nothing acknowledged; a power loss or
 *   kernel crash may lose the latest writes. The bytes reach the operating system (write(2)) before the write
 *   resolves, but nothing waits for the disk. PouchDB/LevelDB and Chrome's IndexedDB (relaxed, since v83) work so.
 * - `'power'`: the bytes are on the disk (fsync) before the write resolves, as SQLite's full sync.
 */
export type Durability = 'process' | 'power'

export const DURABILITY_LEVELS: readonly Durability[] = ['process', 'power']

/** See the README ("Durability"): an existing program keeps the guarantee it had before the option existed. */
export const DEFAULT_DURABILITY: Durability = 'power'

/** The option's value, or a TypeError naming the value given. */
export function checkDurability(name: string, value: unknown): Durability {
  if (value === undefined) return DEFAULT_DURABILITY
  if (value === 'process' || value === 'power') return value
  const shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? (value === null ? 'null' : 'an object') : `${typeof value} ${String(value)}`
  throw new TypeError(`database(${JSON.stringify(name)}): durability must be 'process' or 'power', got ${shown}`)
}
