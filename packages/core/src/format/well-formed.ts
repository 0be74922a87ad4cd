const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Whether a string can be stored: UTF-8 (and so dag-cbor) has no encoding for a lone UTF-16 surrogate, which
 * the encoder would silently replace by U+FFFD — the value read back would differ from the one written.
 */
export const isWellFormed: (text: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (text) => (text as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (text) => !LONE_SURROGATE.test(text)

/** For an error message: where the first lone surrogate of `text` is. */
export function loneSurrogate(text: string): string {
  return `a string with a lone UTF-16 surrogate at index ${text.search(LONE_SURROGATE)}`
}
