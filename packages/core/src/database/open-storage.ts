import type { Storage } from '../storage/api.js'
import { checkDurability } from '../storage/durability.js'
import { memoryStorage } from '../storage/memory.js'
import { nodeFileStorage } from '../storage/node-files.js'
import type { DatabaseOptions } from './api.js'

/**
 * Node default: files. The browser build replaces this module with one that defaults to IndexedDB, so the file
 * storage is imported with the package, not by the first open (which a cold open would otherwise pay for).
 */
export async function openStorage(name: string, options: DatabaseOptions): Promise<Storage> {
  const kind = options.storage ?? 'file'
  // Memory storage accepts either level: nothing it holds outlives the process.
  const durability = checkDurability(name, options.durability)
  if (kind === 'memory') return memoryStorage(name, { dir: options.dir })
  if (kind === 'file') {
    return nodeFileStorage(name, { dir: options.dir, durability })
  }
  throw new TypeError(`database(${JSON.stringify(name)}): storage ${JSON.stringify(kind)} is not available in Node (use 'file' or 'memory')`)
}
