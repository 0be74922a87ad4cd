/**
 * Presigned-URL mode: a connector for browsers that holds no AWS credentials. It asks your server's signing
 * endpoint (`createSigningHandler` from '@proj/connect-s3/server') for short-lived URLs, then talks to S3
 * with plain `fetch`. The bucket needs a CORS rule allowing your origin to GET, PUT and DELETE.
 */
import type { CallOptions, Connector, MetaEntry } from '@proj/core/connector'
import { BackendConfigError, parseFileCid as parseCid, verifyCid } from '@proj/core/kit'
import { mapLimit, segment } from './keys.js'
import { MAX_REPLACES_PER_SIGN, signResponseProblem, type SignRequest, type SignResponse, type SignedRequest } from './protocol.js'

export interface S3PresignedOptions {
  /** URL of the signing endpoint (where your server mounts `createSigningHandler`). */
  signer: string | URL
  /** Default: globalThis.fetch. */
  fetch?: typeof globalThis.fetch
  /** Extra headers for the signing requests, e.g. your session token (checked by `authorize`). */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>)
  /** Per-request timeout in ms (default 60_000). */
  timeout?: number
}

export class S3PresignedConnector implements Connector {
  readonly name = 's3'
  private readonly signer: string
  /** The backend, as the signing endpoint names it. */
  get id(): string {
    return `s3-presigned:${this.signer}`
  }
  private readonly fetch: typeof globalThis.fetch
  private readonly headers: S3PresignedOptions['headers']
  private readonly timeout: number

  constructor(options: S3PresignedOptions) {
    const signer = options?.signer
    let url: URL
    try {
      url = new URL(String(signer))
    } catch {
      throw new TypeError(`Invalid signer URL: ${JSON.stringify(signer)}`)
    }
    this.signer = url.toString()
    const fetchFn = options.fetch ?? globalThis.fetch
    if (typeof fetchFn !== 'function') throw new TypeError('Invalid fetch: no fetch function given or global')
    this.fetch = fetchFn
    this.headers = options.headers
    this.timeout = options.timeout ?? 60_000
  }

  /** `call`'s signal is sync's (CallOptions): a request sync gave up on is ended, not left to run on. */
  private async request(what: string, url: string, init: RequestInit, call: CallOptions | undefined): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeout)
    try {
      return await this.fetch(url, { ...init, signal: call?.signal ? AbortSignal.any([timeout, call.signal]) : timeout })
    } catch (err) {
      throw new Error(`s3 ${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
  }

  private async sign<K extends SignRequest['op']>(req: Extract<SignRequest, { op: K }>, call: CallOptions | undefined): Promise<SignResponse[K]> {
    const extra = typeof this.headers === 'function' ? await this.headers() : this.headers
    const res = await this.request(`sign ${req.op}`, this.signer, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...extra },
      body: JSON.stringify(req),
    }, call)
    const type = res.headers.get('content-type')?.split(';')[0]?.trim() || 'a body'
    // Named without its query, which may carry a token.
    const signer = `signer ${this.signer.split('?')[0]}`
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => undefined)
      // The signing handler never answers 404: nothing signs at this URL (a wrong path or host).
      throw new BackendConfigError('s3', `${signer} answered 404 to sign ${req.op}: no signing handler at this URL`)
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '')
      let body: { permanent?: unknown; error?: unknown } | undefined
      try {
        body = JSON.parse(text) as typeof body
      } catch {
        // not the signing handler's JSON: the status decides
      }
      if (body?.permanent === true) {
        // S3 refuses the signing server's own configuration; only fixing the server helps.
        throw new BackendConfigError('s3', `${signer} cannot sign ${req.op}: ${String(body.error).slice(0, 300)}`)
      }
      // The status lets sync tell a refusal (401, 403: permanent) from a signer that is down (5xx: retried).
      throw Object.assign(new Error(`s3 sign ${req.op} failed: ${res.status} ${text}`.trim()), { status: res.status })
    }
    const text = await res.text()
    let problem: string | undefined
    let body: unknown
    try {
      body = JSON.parse(text)
      problem = signResponseProblem(req.op, body)
    } catch (error) {
      problem = (error as Error).message
    }
    if (problem !== undefined) {
      // Retrying reads the same answer: the URL serves something else (a site's page for every path, a proxy).
      throw new BackendConfigError('s3', `${signer} answered ${res.status} with ${type} that is not a signed ${req.op} (${problem.slice(0, 200)})`)
    }
    return body as SignResponse[K]
  }

  private async send(what: string, signed: SignedRequest, method: string, call: CallOptions | undefined, body?: Uint8Array): Promise<Response> {
    const res = await this.request(what, signed.url, {
      method,
      headers: signed.headers,
      ...(body ? { body: body as unknown as BodyInit } : {}),
    }, call)
    return res
  }

  /**
   * S3's refusal of a signed request, carrying its status: a 403 of a URL signed a moment ago (a wrong secret on
   * the signing server, a policy that denies it) is permanent, a 5xx is retried (see isPermanentError).
   */
  private async fail(what: string, res: Response): Promise<never> {
    const text = await res.text().catch(() => '')
    throw Object.assign(new Error(`s3 ${what} failed: ${res.status} ${text.slice(0, 300)}`.trim()), { status: res.status })
  }

  async upload(db: string, cid: string, bytes: Uint8Array, call?: CallOptions): Promise<void> {
    segment('database name', db)
    parseCid(cid)
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`Invalid file bytes: expected a Uint8Array, got ${typeof bytes}`)
    const signed = await this.sign({ op: 'upload', db, cid }, call)
    const res = await this.send(`put ${cid}`, signed, 'PUT', call, bytes)
    if (!res.ok) await this.fail(`put ${cid}`, res)
    await res.arrayBuffer().catch(() => undefined)
  }

  /** The bytes at a signed URL, verified against `cid` when given (files; sync verifies meta entries itself). */
  private async get(what: string, cid: string | undefined, signed: SignedRequest, call: CallOptions | undefined): Promise<Uint8Array | undefined> {
    const res = await this.send(what, signed, 'GET', call)
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => undefined)
      return undefined
    }
    if (!res.ok) await this.fail(what, res)
    const bytes = new Uint8Array(await res.arrayBuffer())
    if (cid !== undefined) await verifyCid(parseCid(cid), bytes, what)
    return bytes
  }

  async download(db: string, cid: string, call?: CallOptions): Promise<Uint8Array | undefined> {
    segment('database name', db)
    parseCid(cid)
    const signed = await this.sign({ op: 'download', db, cid }, call)
    return this.get(`get ${cid}`, cid, signed, call)
  }

  async save(db: string, branch: string, entry: MetaEntry, replaces: readonly string[], call?: CallOptions): Promise<void> {
    segment('database name', db)
    segment('branch', branch)
    parseCid(entry?.cid)
    if (!(entry.bytes instanceof Uint8Array)) throw new TypeError('Invalid meta entry bytes: expected a Uint8Array')
    if (!Array.isArray(replaces)) throw new TypeError(`Invalid replaces: ${JSON.stringify(replaces)} (expected an array)`)
    for (const cid of replaces) parseCid(cid)
    // The signer takes a bounded number of replaced entries a request (a device that merged more writers than
    // that got a 400 before, a permanent failure that stopped its sync): the rest are signed in more requests,
    // whose PUT URL goes unused.
    const batches: string[][] = []
    for (let at = 0; at === 0 || at < replaces.length; at += MAX_REPLACES_PER_SIGN) {
      batches.push(replaces.slice(at, at + MAX_REPLACES_PER_SIGN))
    }
    for (const [i, batch] of batches.entries()) {
      const signed = await this.sign({ op: 'save', db, branch, cid: entry.cid, replaces: batch }, call)
      if (i === 0) {
        const res = await this.send(`put meta ${entry.cid}`, signed.put, 'PUT', call, entry.bytes)
        if (!res.ok) await this.fail(`put meta ${entry.cid}`, res)
        await res.arrayBuffer().catch(() => undefined)
      }
      await mapLimit(signed.delete, 8, async (del) => {
        const out = await this.send(`delete meta ${del.cid}`, del, 'DELETE', call)
        if (!out.ok && out.status !== 404) await this.fail(`delete meta ${del.cid}`, out)
        await out.arrayBuffer().catch(() => undefined)
      })
    }
  }

  async load(db: string, branch: string, call?: CallOptions): Promise<MetaEntry[]> {
    segment('database name', db)
    segment('branch', branch)
    const signed = await this.sign({ op: 'load', db, branch }, call)
    const entries = await mapLimit(signed.entries, 8, async (e) => {
      // Not verified here: one bad object under an entry's name would fail every load, for every device.
      const bytes = await this.get(`get meta ${e.cid}`, undefined, e, call)
      return bytes ? { cid: e.cid, bytes } : undefined
    })
    return entries.filter((e): e is MetaEntry => e !== undefined)
  }
}

/** A browser-safe S3 connector that uses presigned URLs from your signing endpoint. */
export function s3PresignedConnector(options: S3PresignedOptions): S3PresignedConnector {
  return new S3PresignedConnector(options)
}
