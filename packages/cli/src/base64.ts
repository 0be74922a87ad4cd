/**
 * Base64 text as bytes, or undefined when it is not base64. Node's own decoder skips what is not in the
 * alphabet and stops at the first misplaced '=', so a damaged backup line would load as other bytes, silently.
 * Padding is optional (DAG-JSON writes none, CouchDB writes it); both alphabets' other characters are refused.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined
  const unpadded = text.replace(/=+$/, '')
  if (unpadded.length % 4 === 1 || (text.length !== unpadded.length && text.length % 4 !== 0)) return undefined
  const buffer = Buffer.from(unpadded, 'base64')
  // Leftover bits in the last character that are not zero: another text for these bytes, not written by an encoder.
  if (buffer.toString('base64').replace(/=+$/, '') !== unpadded) return undefined
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}
