/**
 * The names the party server accepts for a room (branch names follow core's rule, checkName in
 * @proj/core/kit). They become storage keys and URL segments, so the server refuses (400) what could be
 * mistaken for a path or is unprintable, and caps the length.
 */

/** Longest room name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 128

// C0 and C1 control characters, and lone UTF-16 surrogates (which no encoding round-trips).
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Why `name` is not an acceptable room name, or undefined when it is. */
export function nameProblem(what: 'room', name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return `${what} name must be a non-empty string`
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)
  if (name.length > MAX_NAME_LENGTH) {
    return `${what} name ${shown} is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`
  }
  if (name === '.' || name === '..' || /[/\\]/.test(name)) {
    return `${what} name ${shown} must not contain / or \\ nor be . or ..`
  }
  if (UNPRINTABLE.test(name)) return `${what} name ${shown} contains a control character or a lone surrogate`
  return undefined
}
