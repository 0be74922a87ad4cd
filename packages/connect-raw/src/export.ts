import { database } from '@proj/core'
import { dirConnector } from './dir.js'

export interface ExportOptions {
  /** The database name. */
  name: string
  /** Where the local database lives (`database(name, { dir })`). */
  dir?: string
  /** The database key (`exportKey()`), when it is not kept in `dir`. */
  key?: string
  /** The folder to write (the `proj-serve` layout; any static server can serve it). */
  out: string
  /** Meta branch, default 'main'. */
  branch?: string
}

/**
 * Copies a local database into `out` in the layout `proj-serve` and static servers serve: every file, then the
 * meta. The files stay encrypted; a reader needs the key (`db.exportKey()`) from you, never from the folder.
 */
export async function exportDatabase(options: ExportOptions): Promise<void> {
  const db = database(options.name, {
    ...(options.dir === undefined ? {} : { dir: options.dir }),
    ...(options.key === undefined ? {} : { key: options.key }),
  })
  try {
    const sync = db.connect(dirConnector(options.out), {
      pollInterval: 0,
      ...(options.branch === undefined ? {} : { branch: options.branch }),
    })
    try {
      await sync.ready
      await sync.flush()
    } finally {
      await sync.close()
    }
  } finally {
    await db.close()
  }
}
