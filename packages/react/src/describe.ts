/** A value as an error message names it: JSON for primitives, the kind for objects and arrays. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object' && value !== null) return 'an object'
  if (typeof value === 'function') return 'a function'
  return JSON.stringify(value) ?? String(value)
}
