import { IV_LENGTH } from '../format/envelope.js'
import { randomBytes } from './random.js'

/**
 * Fresh random AES-GCM IVs, drawn from the platform CSPRNG a pool at a time: one getRandomValues call per
 * IV cost ~35 µs in Node (a twentieth of a single put, packages/core/bench/sequential-puts.ts), one call for
 * 4 KiB costs about the same. Each IV is a copy of bytes no other IV used; the pool is refilled when spent.
 */
const POOL_BYTES = 4096 - (4096 % IV_LENGTH)

let pool = new Uint8Array(0)
let next = 0

export function randomIv(): Uint8Array {
  if (next + IV_LENGTH > pool.length) {
    pool = randomBytes(POOL_BYTES)
    next = 0
  }
  const iv = pool.slice(next, next + IV_LENGTH)
  next += IV_LENGTH
  return iv
}
