import type { Storage } from '../storage/api.js'
import { checkDurability } from '../storage/durability.js'
import { indexedDBStorage } from '../storage/indexeddb.js'
import { memoryStorage } from '../storage/memory.js'
import type { DatabaseOptions } from './api.js'

/**
 * Browser default: IndexedDB (database `proj:<name>`). The browser build (tsup.config.ts) resolves
 * `./open-storage.js` to this module, so nothing in the browser bundle imports node:fs.
 */
export async function openStorage(name: string, options: DatabaseOptions): Promise<Storage> {
  const kind = options.storage ?? 'indexeddb'
  // Memory storage accepts either level: nothing it holds outlives the page.
  const durability = checkDurability(name, options.durability)
  if (kind === 'memory') return memoryStorage(name, { dir: options.dir })
  if (kind === 'indexeddb') return indexedDBStorage(name, { dir: options.dir, durability })
  throw new TypeError(`database(${JSON.stringify(name)}): storage ${JSON.stringify(kind)} is not available in the browser (use 'indexeddb' or 'memory')`)
}
