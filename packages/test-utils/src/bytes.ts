/** Deterministic bytes that do not compress (a seeded xorshift), different per seed: test content. */
export function seededBytes(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size)
  let x = seed * 2654435761 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    bytes[i] = x & 0xff
  }
  return bytes
}

/** Every part a stream yields, in order. */
export async function readParts(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = []
  const reader = stream.getReader()
  for (let read = await reader.read(); !read.done; read = await reader.read()) parts.push(read.value)
  return parts
}
