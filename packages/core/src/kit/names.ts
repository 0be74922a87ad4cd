/**
 * The one rule for database and branch names, the one `database()` enforces: 1-128 letters, digits, '.', '_'
 * or '-', starting with a letter or digit. Such a name needs no escaping as a path segment, a URL segment or
 * an object key, and can never mean "this" or "parent directory". A backend may refuse more where its layout
 * needs it (connect-raw's branch names have no '.'); it never accepts less.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** Names a value for an error message without dumping it. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`
  return typeof value
}

/**
 * Returns `name`, or throws a TypeError naming the value. `what` says who asked and for what, e.g.
 * `database(): name` or `raw: branch name`.
 */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(`${what} must be 1-128 letters, digits, '.', '_' or '-' (not starting with a symbol), got ${describe(name)}`)
  }
  return name
}
