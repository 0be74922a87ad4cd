import { checkName as checkNameRule, describe } from '../kit/names.js'
import type { Connector } from '../connector/api.js'
import type { DatabaseOptions } from './api.js'

const KNOWN = ['dir', 'key', 'storage', 'durability', 'branch', 'compactEvery', 'cacheBytes'] as const

/**
 * Checks what `database()` can check before opening: a misspelled or unsupported option is a TypeError (a
 * `compactevery` silently ignored leaves compaction at its default), and so is a value no option takes.
 * `key`, `storage` and `durability` are checked where they are used, with the same kind of message.
 */
export function checkDatabaseOptions(name: string, options: unknown): DatabaseOptions {
  const where = `database(${JSON.stringify(name)})`
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${describe(options)}`)
  }
  const given = options as Record<string, unknown>
  for (const option of Object.keys(given)) {
    if (!(KNOWN as readonly string[]).includes(option)) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(option)} (the options are ${KNOWN.join(', ')})`)
    }
  }
  const { cacheBytes, compactEvery, dir, branch } = given
  if (cacheBytes !== undefined && !(Number.isSafeInteger(cacheBytes) && (cacheBytes as number) > 0)) {
    throw new TypeError(`${where}: cacheBytes must be a positive integer (bytes), got ${describe(cacheBytes)}`)
  }
  if (compactEvery !== undefined && !(Number.isSafeInteger(compactEvery) && (compactEvery as number) >= 0)) {
    throw new TypeError(`${where}: compactEvery must be a whole number of files (0: never automatically), got ${describe(compactEvery)}`)
  }
  if (dir !== undefined && (typeof dir !== 'string' || dir.length === 0)) {
    throw new TypeError(`${where}: dir must be a non-empty path, got ${describe(dir)}`)
  }
  if (branch !== undefined) checkNameRule(branch, `${where}: branch`)
  return given as DatabaseOptions
}

const CONNECTOR_METHODS = ['upload', 'download', 'save', 'load'] as const

/**
 * `db.connect(connector)` takes what `connect.*` builds, or a hand-made connector: without this check a
 * missing method surfaced as a sync stuck 'offline' retrying a TypeError, and null as a bare property read.
 */
export function checkConnector(connector: unknown): asserts connector is Connector {
  if (connector === null || typeof connector !== 'object') {
    throw new TypeError(`connect() expects a connector (an object with ${CONNECTOR_METHODS.join(', ')} and a name), got ${describe(connector)}`)
  }
  const given = connector as Record<string, unknown>
  const missing = CONNECTOR_METHODS.filter((method) => typeof given[method] !== 'function')
  if (missing.length) {
    throw new TypeError(`connect(): the connector has no ${missing.join(', ')} method${missing.length > 1 ? 's' : ''} (a connector has ${CONNECTOR_METHODS.join(', ')} and a name)`)
  }
  if (typeof given.name !== 'string' || given.name === '') {
    throw new TypeError(`connect(): the connector's name must be a non-empty string (it names the backend in errors), got ${describe(given.name)}`)
  }
}
