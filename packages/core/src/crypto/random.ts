/**
 * `length` bytes from the platform CSPRNG. In Node, node:crypto's randomFillSync: WebCrypto's getRandomValues
 * there loads Node's whole WebCrypto implementation on its first call, 1–3 ms of the first write a process makes
 * (a new database's key, the first IVs). Reached through `process.getBuiltinModule`, as kit/sha256-cid.ts does,
 * so that this module stays free of Node imports; the browser keeps getRandomValues.
 */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length)
  if (nodeFill) nodeFill(bytes)
  else globalThis.crypto.getRandomValues(bytes)
  return bytes
}

const nodeFill = (() => {
  const node = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  const crypto = node?.getBuiltinModule?.('node:crypto') as { randomFillSync?: (bytes: Uint8Array) => Uint8Array } | undefined
  return typeof crypto?.randomFillSync === 'function' ? crypto.randomFillSync : undefined
})()
