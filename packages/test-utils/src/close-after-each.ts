import { afterEach } from 'vitest'

/**
 * Registers an afterEach that closes, newest first, everything passed to the returned function during the
 * test (databases, syncs, servers: anything with `close()`). Call it at the top level of a test file.
 */
export function closeAfterEach(): <T extends { close(): unknown }>(thing: T) => T {
  const open: { close(): unknown }[] = []
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close()
  })
  return (thing) => {
    open.push(thing)
    return thing
  }
}
