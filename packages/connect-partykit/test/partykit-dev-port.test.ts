import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileCid, metaEntry } from '@proj/connector-tests'
import { closeServer, listenOnLoopback } from '@proj/test-utils'
import { afterEach, expect, it } from 'vitest'
import { partykitConnector } from '../src/index.js'
import { startPartykit, type PartykitDev } from './partykit-dev.js'

// The launchers choose a free port and `partykit dev` binds it a moment later; another process may take it
// in between. Here a server takes the port first, and answers 404 to everything as partykit does to the
// launcher's readiness probe, so a launcher that probed it would take it for the party.
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

it('a port taken before partykit dev binds it: the launcher starts it on another free port, and its url is the party', async () => {
  const occupant = createServer((_req, res) => res.writeHead(404).end())
  await listenOnLoopback(occupant)
  cleanups.push(() => closeServer(occupant))
  const taken = (occupant.address() as AddressInfo).port

  const server: PartykitDev = await startPartykit({}, undefined, taken)
  cleanups.push(() => server.stop())
  expect(new URL(server.url).port).not.toBe(String(taken))

  const connector = partykitConnector(server.url)
  cleanups.push(() => connector.close())
  const db = `db-${crypto.randomUUID()}`
  const bytes = new TextEncoder().encode('on the party, not on the occupant')
  const cid = await fileCid(bytes)
  await connector.upload(db, cid, bytes)
  const entry = await metaEntry(new TextEncoder().encode('head'))
  await connector.save(db, 'main', entry, [])
  expect(await connector.download(db, cid)).toEqual(bytes)
  expect((await connector.load(db, 'main')).map((e) => e.cid)).toEqual([entry.cid])
})
