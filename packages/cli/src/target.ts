import { existsSync, readdirSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { database, type Connector, type Database, type Sync } from '@proj/core'
import { dirConnector } from '@proj/connect-raw/dir'
import { httpConnector } from '@proj/connect-raw'
import { CliError, UsageError } from './usage.js'

/**
 * What a command works on. `<dir|url>` on the command line is one of:
 * - a local database folder (`<dir>/<name>/`, holding `files/` and `records/`), or its parent with `--name`;
 * - a store folder as `proj serve` and `proj export` write it (`<folder>/<name>/data/`, `meta/`): a backend;
 * - the URL of a `proj serve` store (or any static server of an exported folder): a backend.
 * A backend needs the database name and key; a local database keeps its key.
 */
export type Target =
  | { kind: 'local'; name: string; dir: string; key?: string; branch?: string; label: string }
  | { kind: 'backend'; name: string; connector: Connector; key: string; branch?: string; label: string }

export interface TargetFlags {
  name?: string | undefined
  key?: string | undefined
  token?: string | undefined
  branch?: string | undefined
}

const isUrl = (text: string) => /^https?:\/\//i.test(text)
const isDatabaseFolder = (path: string) => existsSync(join(path, 'records', 'keybag'))
const isStoreDatabase = (path: string) => existsSync(join(path, 'meta')) || existsSync(join(path, 'data'))

function subfolders(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
  } catch {
    return []
  }
}

/**
 * Resolves `<dir|url>`. With `create`, a folder where no database exists yet becomes a new local database
 * (`proj load` into a new folder); otherwise that is an error naming the folder.
 */
export function resolveTarget(command: string, where: string | undefined, flags: TargetFlags, options: { create?: boolean } = {}): Target {
  if (!where) throw new UsageError(command, 'Missing <dir|url>: a database folder, a store folder or a proj serve URL')
  const key = flags.key ?? process.env.PROJ_KEY
  const token = flags.token ?? process.env.PROJ_TOKEN
  const branch = flags.branch
  const backend = (name: string | undefined, connector: Connector, label: string): Target => {
    if (!name) throw new UsageError(command, `${label} is a backend: pass --name <database>`)
    if (!key) throw new UsageError(command, `${label} is a backend: pass --key <key> (or set PROJ_KEY), the database key from db.exportKey()`)
    return { kind: 'backend', name, connector, key, ...(branch ? { branch } : {}), label: `${name} at ${label}` }
  }
  const local = (name: string, dir: string): Target => ({
    kind: 'local',
    name,
    dir,
    ...(key ? { key } : {}),
    ...(branch ? { branch } : {}),
    label: `${name} in ${join(dir, name)}`,
  })

  if (isUrl(where)) return backend(flags.name, httpConnector(checkUrl(command, where), token ? { token } : {}), where)
  const path = resolve(where)
  if (flags.name) {
    if (isDatabaseFolder(join(path, flags.name))) return local(flags.name, path)
    if (isStoreDatabase(join(path, flags.name))) return backend(flags.name, dirConnector(path), path)
    if (basename(path) === flags.name && isDatabaseFolder(path)) return local(flags.name, dirname(path))
    if (options.create) return local(flags.name, path)
    throw new CliError(`No database ${JSON.stringify(flags.name)} in ${path} (no ${join(flags.name, 'records', 'keybag')}, no store folder ${join(flags.name, 'data')})`)
  }
  if (isDatabaseFolder(path)) return local(basename(path), dirname(path))
  const children = subfolders(path)
  const stores = children.filter((child) => isStoreDatabase(join(path, child)))
  const databases = children.filter((child) => isDatabaseFolder(join(path, child)))
  if (stores.length === 1 && databases.length === 0) return backend(stores[0], dirConnector(path), path)
  if (databases.length === 1 && stores.length === 0) return local(databases[0]!, path)
  if (stores.length + databases.length > 1) {
    throw new UsageError(command, `${path} holds several databases (${[...databases, ...stores].join(', ')}): pass --name <database>`)
  }
  if (options.create && !existsSync(path)) return local(basename(path), dirname(path))
  if (options.create) throw new UsageError(command, `${path} holds no database: pass --name <database> to create one in it`)
  throw new CliError(`No database in ${path}: expected a database folder (with records/keybag), its parent with --name, or a store folder`)
}

/**
 * A store URL, refused with a UsageError that does not repeat the secret when it carries one: a #fragment (a
 * share link keeps the database key there; it was echoed in every message naming the URL) or user:password@.
 */
function checkUrl(command: string, text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(command, `The <url> is not a valid URL`)
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}${url.search}`
  if (url.hash) {
    throw new UsageError(
      command,
      `${shown}#… has a #fragment, which proj does not read (a share link keeps the database key there): pass the store's URL with --name and --key`,
    )
  }
  if (url.username || url.password) throw new UsageError(command, `${shown} has a user or password in it: pass the store's token with --token (or PROJ_TOKEN)`)
  return text
}

export interface Opened {
  db: Database
  /** The sync to the backend, for a backend target. */
  sync?: Sync
  close(): Promise<void>
}

/**
 * Opens a target as a database: a local one in place; a backend through an in-memory replica that reads
 * what it needs from the backend (and, for writes, pushes them on `sync.flush()`).
 */
export async function openTarget(target: Target): Promise<Opened> {
  const branchOption = target.branch ? { branch: target.branch } : {}
  if (target.kind === 'local') {
    const db = database(target.name, { dir: target.dir, ...(target.key ? { key: target.key } : {}), ...branchOption })
    try {
      // Opens it now, so a bad --key or a locked folder fails here, not at the first write (where proj load
      // would blame the lines it was writing).
      await db.clock()
    } catch (error) {
      await db.close()
      throw error
    }
    return { db, close: () => db.close() }
  }
  const db = database(target.name, { storage: 'memory', key: target.key, ...branchOption })
  const sync = db.connect(target.connector, { pollInterval: 0, ...branchOption })
  const close = async () => {
    await sync.close()
    await db.close()
  }
  try {
    await sync.ready
  } catch (error) {
    await close()
    throw error
  }
  return { db, sync, close }
}
