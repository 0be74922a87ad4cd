/**
 * The real backends for the tests, all on 127.0.0.1: the w3up upload service in-process (the official test
 * context of @web3-storage/upload-api, with its blob store served over HTTP), a receipts endpoint over the
 * service's own agent store, and a trustless gateway over a Helia node whose blockstore receives every CAR the
 * upload service stores.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { CarBufferReader } from '@ipld/car/buffer-reader'
import { Message } from '@ucanto/core'
import * as UcantoCAR from '@ucanto/transport/car'
import { delegate, parseLink } from '@ucanto/core'
import { createContext, cleanupContext } from '@web3-storage/upload-api/test/context'
import { create as createClient, type Client } from '@web3-storage/w3up-client'
import { StoreMemory } from '@web3-storage/w3up-client/stores/memory'
import { MemoryBlockstore } from 'blockstore-core'
import { createGateway, type Gateway, type GatewayBlockstore } from '../src/gateway.js'
import type { W3upClient } from '../src/index.js'

// Helia targets Node >= 22; on Node 20 it needs Promise.withResolvers (shared/INFRA.md).
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const promise = new Promise<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}

/** node:http whose servers listen on 127.0.0.1 only (the upload-api test stores call `listen(cb)`). */
const loopbackHttp = {
  ...http,
  createServer: (...args: Parameters<typeof http.createServer>) => {
    const server = http.createServer(...args)
    const listen = server.listen.bind(server) as (...a: unknown[]) => http.Server
    server.listen = ((...a: unknown[]) => {
      const callback = a.find((x) => typeof x === 'function')
      return listen(0, '127.0.0.1', callback)
    }) as typeof server.listen
    return server
  },
}

async function listen(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((e) => (e ? reject(e) : resolve()))
      }),
  }
}

export interface W3upBackend {
  /** A new w3up client (a new agent, a new provisioned space), as a second device would have. */
  client(): Promise<W3upClient>
  /** A new w3up client of this service with no space at all (a device not given access yet). */
  agent(): Promise<Client>
  /** The trustless gateway over the Helia node. */
  gateway: string
  /** Starts an extra plain HTTP server for a test (e.g. a lying gateway). */
  listen: typeof listen
  stop(): Promise<void>
}

export interface W3upServiceOptions {
  /**
   * `'expired'`: the upload service's delegation to publish location claims has expired, so the service
   * stores each blob but fails its blob/accept (Unauthorized): a service whose accept step fails.
   */
  claimsDelegation?: 'valid' | 'expired'
  /** What the receipts endpoint answers: the receipts (default), `'garbage'` (200, no CAR) or `'failing'` (500). */
  receipts?: 'served' | 'garbage' | 'failing'
}

export async function startW3up(options: W3upServiceOptions = {}): Promise<W3upBackend> {
  // Loaded after the polyfill: Helia's modules use Promise.withResolvers.
  const { createHeliaHTTP } = await import('@helia/http')
  const helia = await createHeliaHTTP({ blockstore: new MemoryBlockstore(), blockBrokers: [], routers: [] })
  const blockstore = helia.blockstore as unknown as GatewayBlockstore

  const ctx = await createContext({ http: loopbackHttp as unknown as typeof http, requirePaymentPlan: false })
  // The test context's claims service lets the upload service publish location claims through a delegation of
  // ucanto's default lifetime, 30 s: every blob/accept after that fails (Unauthorized, proof expired) and the
  // client's upload with it, so a test file that ran past 30 s (a loaded machine) failed its later uploads.
  // The same delegation (assert/* on the claims service, to the upload service's agent), without expiry.
  const claims = ctx.claimsService.invocationConfig
  claims.proofs = [
    await delegate({
      issuer: claims.audience as unknown as Parameters<typeof delegate>[0]['issuer'],
      audience: claims.issuer,
      capabilities: [{ can: 'assert/*', with: claims.with }],
      expiration: options.claimsDelegation === 'expired' ? Math.floor(Date.now() / 1000) - 60 : Infinity,
    }),
  ]

  // Every blob the upload service stores is a CAR (data shards and their indexes): its blocks go to Helia,
  // so the gateway serves exactly what was uploaded through w3up.
  const content = (ctx.blobsStorage as unknown as { content: Map<string, Uint8Array> }).content
  const set = content.set.bind(content)
  content.set = (key: string, bytes: Uint8Array) => {
    let reader: CarBufferReader | undefined
    try {
      reader = CarBufferReader.fromBytes(bytes)
    } catch {
      reader = undefined // not a CAR: nothing addressable by block
    }
    for (const block of reader?.blocks() ?? []) void blockstore.put(block.cid, block.bytes)
    return set(key, bytes)
  }

  // The receipts endpoint w3up clients poll for blob/accept, answered from the service's agent store.
  const receipts = await listen((req, res) => {
    if (options.receipts === 'garbage') return void res.writeHead(200, { 'content-type': 'application/vnd.ipld.car' }).end('garbage')
    if (options.receipts === 'failing') return void res.writeHead(500).end('receipts store unavailable')
    const task = (req.url ?? '').split('/').filter(Boolean).pop() ?? ''
    void (async () => {
      const found = await ctx.agentStore.receipts.get(parseLink(task))
      if (found.error) {
        res.writeHead(404).end()
        return
      }
      const message = await Message.build({ receipts: [found.ok] })
      const { body } = UcantoCAR.request.encode(message)
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.car' }).end(body)
    })().catch((error: unknown) => res.writeHead(500).end(String(error)))
  })

  const gateway: Gateway = await createGateway({ blockstore })

  const agent = () =>
    createClient({
      store: new StoreMemory(),
      serviceConf: { access: ctx.connection, upload: ctx.connection, filecoin: ctx.connection } as never,
      receiptsEndpoint: new URL(`${receipts.url}/receipt/`),
    })

  return {
    gateway: gateway.url,
    listen,
    agent,
    async client() {
      const client = await agent()
      const space = await client.createSpace(`space-${crypto.randomUUID()}`, { skipGatewayAuthorization: true })
      await client.addSpace(await space.createAuthorization(client))
      await client.setCurrentSpace(space.did())
      // What provider/add records once an account pays for a space (the email flow is not part of the test).
      const provisioned = await ctx.provisionsStorage.put({
        cause: undefined as never,
        provider: ctx.connection.id.did() as `did:web:${string}`,
        customer: 'did:mailto:example.com:test',
        consumer: space.did(),
      })
      if (provisioned.error) throw new Error(`provisioning ${space.did()} failed: ${provisioned.error.message}`)
      return client
    },
    async stop() {
      await gateway.close()
      await receipts.close()
      await cleanupContext(ctx)
      await helia.stop()
    },
  }
}
