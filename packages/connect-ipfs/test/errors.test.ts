import { ConnectorError, database, IntegrityError, type Database } from '@proj/core'
import { isPermanentError } from '@proj/core/kit'
import { fileCid } from '@proj/connector-tests'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { expectPermanentFailure } from '@proj/test-utils'
import { connect, createSnapshot, ipfsFiles, W3upServiceError, type W3upClient } from '../src/index.js'
import { startW3up, type W3upBackend } from './w3up.js'

// w3up refusing this agent, and gateways answering other bytes: failures that retrying cannot fix reach the
// application once, typed, and the local writes stay.
let backend: W3upBackend
beforeAll(async () => {
  backend = await startW3up()
})
afterAll(async () => {
  await backend?.stop()
})

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function device(client: W3upClient, gateway = backend.gateway) {
  const db: Database = database(`ipfs-errors-${crypto.randomUUID()}`, { storage: 'memory' })
  await db.put({ _id: 'milk', title: 'milk' })
  const sync = connect.ipfs(db, { client, gateway }, { maxBackoff: 200, flushTimeout: 20_000 })
  const errors: ConnectorError[] = []
  sync.on('error', (error) => errors.push(error))
  cleanups.push(async () => {
    await sync.close()
    await db.close()
  })
  return { db, sync, errors }
}

describe('permanent w3up failures', () => {
  it('an agent whose delegation does not cover uploads: flush rejects at once with AuthError; the write is kept', async () => {
    const owner = (await backend.client()) as Awaited<ReturnType<W3upBackend['agent']>>
    const reader = await backend.agent()
    const space = owner.currentSpace()!.did()
    const delegation = await owner.createDelegation(reader.agent, ['upload/list'], {
      expiration: Math.floor(Date.now() / 1000) + 3600,
    })
    await reader.addSpace(delegation)
    await reader.setCurrentSpace(space)

    const d = await device(reader)
    await d.sync.ready
    const error = await expectPermanentFailure(d)
    expect(error.cause).toMatchObject({ name: 'AuthError', permanent: true })
    expect(error.message).toMatch(
      /^Connector ipfs failed to upload: w3up refused the credentials: upload of bafkrei\w+: Claim \{"can":"space\/blob\/add"\} is not authorized \(the agent has no valid delegation for the current space\)$/,
    )
    expect(d.sync.status).toBe('error')
    expect(d.errors[0]).toBe(error)
    expect(await d.db.get('milk')).toMatchObject({ title: 'milk' })
  })

  it('a space without a storage provider: flush rejects with BackendConfigError naming the space', async () => {
    const agent = await backend.agent()
    const space = await agent.createSpace(`unpaid-${crypto.randomUUID()}`, { skipGatewayAuthorization: true })
    await agent.addSpace(await space.createAuthorization(agent))
    await agent.setCurrentSpace(space.did())

    const d = await device(agent)
    const error = await expectPermanentFailure(d)
    expect(error.cause).toMatchObject({ name: 'BackendConfigError' })
    expect(error.message).toContain(`${space.did()} has no storage provider (provision the space)`)
    expect(d.sync.status).toBe('error')
  })

  it('a client without a current space is BackendConfigError', async () => {
    const bytes = new TextEncoder().encode('no space')
    const error = await ipfsFiles({ client: await backend.agent(), gateway: backend.gateway })
      .upload('db', await fileCid(bytes), bytes)
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'BackendConfigError' })
    expect(isPermanentError(error)).toBe(true)
    expect((error as Error).message).toContain('the client has no current space')
  })

  it("a gateway answering other bytes raises core's IntegrityError (permanent)", async () => {
    const liar = await backend.listen((_req, res) => res.writeHead(200).end('not the bytes'))
    cleanups.push(() => liar.close())
    const cid = await fileCid(new TextEncoder().encode('the bytes'))
    const error = await ipfsFiles({ client: await backend.client(), gateway: liar.url })
      .download('db', cid)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IntegrityError)
    expect(isPermanentError(error)).toBe(true)
  })

  it('a write to a read-only snapshot is reported once (status error), not retried as if offline', async () => {
    const client = await backend.client()
    const snapshot = await createSnapshot(ipfsFiles({ client, gateway: backend.gateway }), [])
    const db = database(`ipfs-errors-${crypto.randomUUID()}`, { storage: 'memory' })
    const sync = connect.ipfs(db, { gateway: backend.gateway, snapshot }, { maxBackoff: 200, flushTimeout: 20_000 })
    const errors: ConnectorError[] = []
    sync.on('error', (error) => errors.push(error))
    cleanups.push(async () => {
      await sync.close()
      await db.close()
    })
    await sync.ready
    await db.put({ _id: 'local', title: 'only here' })
    const error = await expectPermanentFailure({ sync, errors })
    expect(error.cause).toMatchObject({ name: 'ReadOnlyError' })
    expect(error.message).toContain(`(snapshot ${snapshot}) is read-only: cannot upload`)
    expect(sync.status).toBe('error')
    expect(await db.get('local')).toMatchObject({ title: 'only here' })
  })
})

describe('transient w3up failures', () => {
  // The service's own delegation to publish location claims has expired: it stores each blob but fails the
  // blob/accept it runs itself. Nothing the agent holds is at fault, and the service can recover.
  let failingAccept: W3upBackend
  beforeAll(async () => {
    failingAccept = await startW3up({ claimsDelegation: 'expired' })
  })
  afterAll(async () => {
    await failingAccept?.stop()
  })

  it("the service failing its blob/accept is W3upServiceError naming the file and the service's reason, not permanent", async () => {
    const bytes = new TextEncoder().encode(`not accepted ${crypto.randomUUID()}`)
    const cid = await fileCid(bytes)
    const error = await ipfsFiles({ client: await failingAccept.client(), gateway: failingAccept.gateway })
      .upload('db', cid, bytes)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(W3upServiceError)
    expect(error).toMatchObject({ cid, ability: 'web3.storage/blob/accept', permanent: false })
    expect((error as Error).message).toMatch(
      new RegExp(
        `^w3up did not complete the upload of ${cid}: the service's web3\\.storage/blob/accept failed: ` +
          `Unauthorized: Claim \\{"can":"assert/location"\\} is not authorized: Proof bafy\\w+ has expired on `,
      ),
    )
    expect(isPermanentError(error)).toBe(false)
  })

  it.each([
    { receipts: 'garbage', answer: 'bytes that are no receipt', detail: /is unreadable: not a receipt \(/ },
    { receipts: 'failing', answer: 'HTTP 500', detail: /is unreadable: HTTP 500 Internal Server Error$/ },
  ] as const)('a receipts endpoint answering $answer is W3upServiceError naming the receipt, not permanent', async ({ receipts, detail }) => {
    const service = await startW3up({ receipts })
    cleanups.push(() => service.stop())
    const bytes = new TextEncoder().encode(`receipt ${receipts} ${crypto.randomUUID()}`)
    const cid = await fileCid(bytes)
    const error = await ipfsFiles({ client: await service.client(), gateway: service.gateway })
      .upload('db', cid, bytes)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(W3upServiceError)
    expect((error as Error).message).toMatch(
      new RegExp(`^w3up did not complete the upload of ${cid}: its receipt http://127\\.0\\.0\\.1:\\d+/receipt/bafy\\w+ ${detail.source}`),
    )
    expect(isPermanentError(error)).toBe(false)
  })

  it('sync retries it (status offline, every report transient) and keeps the write', async () => {
    const d = await device(await failingAccept.client(), failingAccept.gateway)
    void d.sync.flush().catch(() => {}) // pending while the service fails; rejected by close()
    await vi.waitFor(() => expect(d.errors.length).toBeGreaterThanOrEqual(2), { timeout: 20_000 })
    expect(d.errors.filter((e) => e.permanent)).toEqual([])
    expect(d.errors[0]!.cause).toBeInstanceOf(W3upServiceError)
    expect(d.errors[0]!.message).toMatch(/^Connector ipfs failed to upload: w3up did not complete the upload of bafkrei\w+: the service's web3\.storage\/blob\/accept failed: Unauthorized/)
    expect(d.sync.status).toBe('offline')
    expect(await d.db.get('milk')).toMatchObject({ title: 'milk' })
  })
})
