/**
 * dag-cbor's order of map keys: a shorter UTF-8 encoding first, then bytewise (RFC 7049 canonical CBOR, as
 * format/dag-cbor-encode.ts writes maps). Every object read from a file has its keys in this order, so an
 * object about to be stored is given it too: a document read back while it is still cached, or indexed
 * before the database was reopened, then has the same key order as everywhere else.
 */
export function compareMapKeys(a: string, b: string): number {
  const la = utf8Length(a)
  const lb = utf8Length(b)
  if (la !== lb) return la - lb
  // Bytewise UTF-8 order is code point order; UTF-16 code unit order differs only past the BMP.
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    const ca = a.codePointAt(i)!
    const cb = b.codePointAt(j)!
    if (ca !== cb) return ca - cb
    i += ca > 0xffff ? 2 : 1
    j += cb > 0xffff ? 2 : 1
  }
  return 0
}

/** `keys` in dag-cbor's map order, sorted in place (most are already, or nearly: an insertion sort). */
export function sortMapKeys(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!
    let j = i - 1
    while (j >= 0 && compareMapKeys(keys[j]!, key) > 0) {
      keys[j + 1] = keys[j]!
      j--
    }
    keys[j + 1] = key
  }
  return keys
}

/** UTF-8 bytes of a well-formed string, without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) continue
    // Two bytes to U+07FF, three to U+FFFF; a surrogate pair (two code units) is four.
    bytes += code < 0x800 ? 1 : code >= 0xd800 && code <= 0xdbff ? 1 : code >= 0xdc00 && code <= 0xdfff ? 1 : 2
  }
  return bytes
}
