import type { MapFn, QueryOptions, QueryRow, StoredDoc } from '../database/api.js'
import { describe } from '../database/validate.js'
import { collate } from './collate.js'

/** Turns a field name or map function into emitted [key, value] pairs for one document. */
export function mapper(field: string | MapFn): (doc: StoredDoc) => [unknown, unknown][] {
  if (typeof field === 'string') {
    if (!field) throw new TypeError('query(): the field name must not be empty')
    const path = field.split('.')
    return (doc) => {
      let value: unknown = doc
      for (const part of path) {
        if (value === null || typeof value !== 'object') return []
        value = (value as Record<string, unknown>)[part]
      }
      return value === undefined ? [] : [[value, undefined]]
    }
  }
  if (typeof field !== 'function') {
    throw new TypeError(`query() expects a field name or a map function, got ${describe(field)}`)
  }
  return (doc) => {
    const out: [unknown, unknown][] = []
    field(doc, (key, value) => out.push([key, value]))
    return out
  }
}

export function compareRows(a: QueryRow, b: QueryRow): number {
  return collate(a.key, b.key) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

export function rowMatches(key: unknown, options: QueryOptions): boolean {
  if ('key' in options && options.key !== undefined && collate(key, options.key) !== 0) return false
  if (options.keys && !options.keys.some((k) => collate(key, k) === 0)) return false
  if (options.range) {
    const [lo, hi] = options.range
    if (collate(key, lo) < 0 || collate(key, hi) > 0) return false
  }
  if (options.prefix !== undefined) {
    const prefix = options.prefix
    if (typeof prefix === 'string') {
      if (typeof key !== 'string' || !key.startsWith(prefix)) return false
    } else if (Array.isArray(prefix)) {
      if (!Array.isArray(key) || prefix.some((p, i) => collate(key[i], p) !== 0)) return false
    } else if (collate(key, prefix) !== 0) return false
  }
  return true
}

export function checkQueryOptions(options: QueryOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`query() options must be an object, got ${describe(options)}`)
  }
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) {
    throw new TypeError(`query(): limit must be a non-negative integer, got ${describe(options.limit)}`)
  }
  if (options.range !== undefined && (!Array.isArray(options.range) || options.range.length !== 2)) {
    throw new TypeError(`query(): range must be [low, high], got ${describe(options.range)}`)
  }
  if (options.keys !== undefined && !Array.isArray(options.keys)) {
    throw new TypeError(`query(): keys must be an array, got ${describe(options.keys)}`)
  }
}
