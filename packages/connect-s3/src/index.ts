/**
 * @proj/connect-s3: files and meta entries of a database in an S3 bucket (AWS, Ceph radosgw, MinIO, R2, …).
 *
 *   <prefix>/<db>/data/<cid>             one object per immutable file
 *   <prefix>/<db>/meta/<branch>/<cid>    one object per meta entry
 *
 * Meta needs no compare-and-swap: `save` PUTs the new entry under its own name, then DELETEs the entries it
 * merged, so two writers saving at once both leave their entry; `load` lists the branch and reads every entry.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import type { Database, Sync, SyncOptions } from '@proj/core'
import type { CallOptions, Connector, MetaEntry } from '@proj/core/connector'
import { AuthError, BackendConfigError, checkTargetKeys, describe, OptionError, parseFileCid as parseCid, splitConnectOptions, verifyCid } from '@proj/core/kit'
import { toHex } from 'multiformats/bytes'
import { Layout, checksumOf, mapLimit } from './keys.js'

export { s3PresignedConnector, type S3PresignedOptions } from './presigned.js'

export interface S3ConnectorOptions {
  /** The bucket; it must exist. */
  bucket: string
  /** Key prefix under which every database lives, e.g. 'apps/todo'. Default: the bucket root. */
  prefix?: string
  /**
   * Client config (endpoint, region, credentials, forcePathStyle, …) merged over the defaults: region
   * 'us-east-1', 3 attempts, 5 s connection timeout, 60 s request timeout, checksums only where required.
   */
  s3?: S3ClientConfig
  /** A client of your own; `s3` is ignored then, and `close()` leaves it open. */
  client?: S3Client
  /**
   * Bind every PUT to its name (default true): the CID's SHA-256 digest goes out as `ChecksumSHA256` and as
   * the signed payload hash (`x-amz-content-sha256`), so the server rejects bytes that do not hash to the
   * CID. Servers that verify neither (s3rver) store what they get; servers that refuse the checksum header
   * (501 NotImplemented) make the connector fall back to plain PUTs. Downloads are verified here either way.
   */
  checksum?: boolean
}

/** Default client settings: fail fast on an unreachable endpoint instead of hanging. */
export function s3ClientConfig(config: S3ClientConfig = {}): S3ClientConfig {
  return {
    region: 'us-east-1',
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    // Newer SDKs add CRC32 checksums to every PUT; older S3 servers (Ceph 16, s3rver) reject or ignore them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...config,
  }
}

interface S3Error {
  name?: string
  Code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
}

const statusOf = (err: unknown) => (err as S3Error)?.$metadata?.httpStatusCode
/** A missing object (not a missing bucket: that is a configuration error, never "no such file"). */
const isNotFound = (err: unknown) => {
  const name = (err as S3Error)?.name
  if (name === 'NoSuchBucket') return false
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404
}
const isChecksumUnsupported = (err: unknown) => {
  const name = (err as S3Error)?.name ?? ''
  return statusOf(err) === 501 || name === 'NotImplemented'
}

const AUTH_ERRORS = new Set([
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'AccessDenied',
  'AuthorizationHeaderMalformed',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'RequestTimeTooSkewed',
])

const AUTH_HINTS: Record<string, string> = {
  SignatureDoesNotMatch: 'the secret access key does not match the access key id',
  InvalidAccessKeyId: 'the access key id is unknown to the server',
  AccessDenied: 'access denied',
  RequestTimeTooSkewed: "this machine's clock differs too much from the server's",
}

/**
 * The error a failed S3 request becomes: what retrying cannot fix is typed (sync stops and reports it),
 * everything else (network, 5xx, throttling) stays a plain Error that sync retries. Messages name the bucket,
 * the endpoint and the operation, never the credentials.
 */
function failure(op: string, key: string, err: unknown, bucket: string, endpoint: string): Error {
  const e = err as S3Error
  const code = e?.name ?? e?.Code
  const status = statusOf(err)
  const where = `${op} ${key} in bucket "${bucket}" at ${endpoint}`
  const detail = [code, status, e?.message].filter((x) => x !== undefined && x !== '').join(' ')
  let error: Error
  if (code === 'NoSuchBucket') {
    error = new BackendConfigError('s3', `bucket "${bucket}" does not exist at ${endpoint} (${op} ${key})`)
  } else if (code === 'InvalidBucketName') {
    error = new BackendConfigError('s3', `invalid bucket name "${bucket}" (${op} ${key} at ${endpoint})`)
  } else if ((code && AUTH_ERRORS.has(code)) || status === 401 || status === 403) {
    error = new AuthError('s3', `${(code && AUTH_HINTS[code]) || detail || `HTTP ${status}`} (${where})`)
  } else {
    return new Error(`s3 ${op} ${key} failed: ${detail || String(err)}`, { cause: err })
  }
  Object.defineProperty(error, 'cause', { value: err, configurable: true, writable: true })
  return error
}


function requireBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`Invalid ${what}: expected a Uint8Array, got ${typeof value}`)
  return value
}

export class S3Connector implements Connector {
  readonly name = 's3'
  /** The backend: endpoint, bucket and prefix (sync remembers per id what the bucket holds). */
  readonly id: string
  readonly bucket: string
  readonly client: S3Client
  /** The endpoint for messages ('AWS' when none is given). */
  private readonly endpoint: string
  private readonly layout: Layout
  private readonly ownClient: boolean
  private checksum: boolean

  constructor(options: S3ConnectorOptions) {
    if (!options || typeof options !== 'object') throw new TypeError(`Invalid S3 options: ${String(options)}`)
    if (typeof options.bucket !== 'string' || options.bucket === '') {
      throw new TypeError(`Invalid S3 bucket: ${JSON.stringify(options.bucket)}`)
    }
    this.bucket = options.bucket
    this.layout = new Layout(options.prefix)
    const endpoint = options.client ? options.client.config.endpoint : options.s3?.endpoint
    this.endpoint = typeof endpoint === 'string' || endpoint instanceof URL ? String(endpoint) : 'AWS'
    this.id = `s3:${this.endpoint === 'AWS' ? 'aws' : this.endpoint}/${options.bucket}/${options.prefix ?? ''}`
    this.ownClient = !options.client
    this.client = options.client ?? new S3Client(s3ClientConfig(options.s3))
    this.checksum = options.checksum ?? true
  }

  /** Requests in flight, so that `close()` lets them finish instead of aborting them mid-way. */
  private readonly inflight = new Set<Promise<unknown>>()

  private track<T>(pending: Promise<T>): Promise<T> {
    const settled = pending.then(
      () => undefined,
      () => undefined,
    )
    this.inflight.add(settled)
    void settled.then(() => this.inflight.delete(settled))
    return pending
  }

  /**
   * `signal` is sync's (CallOptions): aborted when sync gives the call up, it ends the request (and the
   * client's own retries of it) instead of leaving it to run on.
   */
  private async put(key: string, cid: ReturnType<typeof parseCid>, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const send = (withChecksum: boolean) => {
      const command = new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: 'application/octet-stream',
        ...(withChecksum ? { ChecksumSHA256: checksumOf(cid) } : {}),
      })
      if (withChecksum) {
        // SigV4 signs the payload hash given in x-amz-content-sha256; pinning it to the CID's digest makes
        // every server that checks signed payloads (AWS, Ceph radosgw, MinIO) refuse bytes that do not match
        // their name, even servers too old for x-amz-checksum-sha256.
        const payloadHash = toHex(cid.multihash.digest)
        command.middlewareStack.add(
          (next) => async (args) => {
            const request = args.request as { headers?: Record<string, string> }
            if (request.headers) request.headers['x-amz-content-sha256'] = payloadHash
            return next(args)
          },
          { step: 'build', name: 'pinPayloadHashToCid' },
        )
      }
      return this.track(this.client.send(command, { abortSignal: signal }))
    }
    try {
      const withChecksum = this.checksum
      try {
        await send(withChecksum)
      } catch (err) {
        if (!withChecksum || !isChecksumUnsupported(err)) throw err
        this.checksum = false
        await send(false)
      }
    } catch (err) {
      throw failure('put', key, err, this.bucket, this.endpoint)
    }
  }

  /** The object's bytes, or undefined when it does not exist. */
  private async get(key: string, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    try {
      // Tracked until the body is read: close() must not cut a download short.
      return await this.track(
        (async () => {
          const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal })
          return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0)
        })(),
      )
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw failure('get', key, err, this.bucket, this.endpoint)
    }
  }

  async upload(db: string, cid: string, bytes: Uint8Array, call?: CallOptions): Promise<void> {
    const key = this.layout.dataKey(db, cid)
    const parsed = parseCid(cid)
    await this.put(key, parsed, requireBytes(bytes, 'file bytes'), call?.signal)
  }

  /** Whether the bucket holds the file (a HEAD request: nothing is downloaded). */
  async has(db: string, cid: string, call?: CallOptions): Promise<boolean> {
    const key = this.layout.dataKey(db, cid)
    parseCid(cid)
    try {
      await this.track(this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: call?.signal }))
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw failure('head', key, err, this.bucket, this.endpoint)
    }
  }

  async download(db: string, cid: string, call?: CallOptions): Promise<Uint8Array | undefined> {
    const key = this.layout.dataKey(db, cid)
    const parsed = parseCid(cid)
    const bytes = await this.get(key, call?.signal)
    if (bytes) await verifyCid(parsed, bytes, `s3://${this.bucket}/${key}`)
    return bytes
  }

  async save(db: string, branch: string, entry: MetaEntry, replaces: readonly string[], call?: CallOptions): Promise<void> {
    const key = this.layout.metaKey(db, branch, entry?.cid)
    const parsed = parseCid(entry.cid)
    requireBytes(entry.bytes, 'meta entry bytes')
    if (!Array.isArray(replaces)) throw new TypeError(`Invalid replaces: ${JSON.stringify(replaces)} (expected an array)`)
    const doomed = replaces.filter((cid) => cid !== entry.cid).map((cid) => (parseCid(cid), this.layout.metaKey(db, branch, cid)))
    await this.put(key, parsed, entry.bytes, call?.signal)
    // Only after the new entry is durable; a failed delete leaves an old entry that the next save replaces.
    await mapLimit(doomed, 8, async (doomedKey) => {
      try {
        await this.track(this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: doomedKey }), { abortSignal: call?.signal }))
      } catch (err) {
        if (!isNotFound(err)) throw failure('delete', doomedKey, err, this.bucket, this.endpoint)
      }
    })
  }

  async load(db: string, branch: string, call?: CallOptions): Promise<MetaEntry[]> {
    const prefix = this.layout.metaPrefix(db, branch)
    const keys: string[] = []
    let token: string | undefined
    do {
      let out
      try {
        out = await this.track(
          this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }), {
            abortSignal: call?.signal,
          }),
        )
      } catch (err) {
        throw failure('list', prefix, err, this.bucket, this.endpoint)
      }
      for (const object of out.Contents ?? []) if (object.Key) keys.push(object.Key)
      token = out.IsTruncated ? out.NextContinuationToken : undefined
    } while (token)
    const entries = await mapLimit(keys, 8, async (key): Promise<MetaEntry | undefined> => {
      const name = key.slice(prefix.length)
      try {
        parseCid(name)
      } catch {
        return undefined // not ours: only CID-named objects are entries
      }
      const bytes = await this.get(key, call?.signal)
      if (!bytes) return undefined // replaced between the listing and the read
      // Not verified here: one object a stranger put under an entry's name would fail every load, and stop
      // every device for good. Sync verifies each entry it opens, and skips a bad one with a warning.
      return { cid: name, bytes }
    })
    return entries.filter((e): e is MetaEntry => e !== undefined)
  }

  /** Lets requests in flight finish (at most 1 s), then releases the client's sockets. */
  async close(): Promise<void> {
    if (this.inflight.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise((resolve) => (timer = setTimeout(resolve, 1_000))),
      ])
      clearTimeout(timer)
    }
    if (this.ownClient) this.client.destroy()
  }
}

/** A connector that keeps a database's files and meta in an S3 bucket. */
export function s3Connector(options: S3ConnectorOptions): S3Connector {
  return new S3Connector(options)
}

export interface S3ConnectOptions extends S3ConnectorOptions {
  /** @deprecated Pass sync options as the third argument, `connect.s3(db, target, options)`. */
  sync?: SyncOptions
}

export const connect = {
  /**
   * Replicates `db` through an S3 bucket (polled); returns the `Sync` handle. `options` are core's sync
   * options (`branch`, `pollInterval`, …), as for every `connect.*`.
   */
  s3(db: Database, target: S3ConnectOptions, options?: SyncOptions): Sync {
    if (target === null || typeof target !== 'object') {
      throw new OptionError('connect.s3', 'target', `the target must be { bucket, prefix?, s3? | client?, checksum? }, got ${describe(target)}`)
    }
    checkTargetKeys('connect.s3', target, ['bucket', 'prefix', 's3', 'client', 'checksum', 'sync'])
    const { sync: legacy, ...connectorOptions } = target
    const { sync } = splitConnectOptions<object>('connect.s3', { ...legacy, ...options }, [])
    return db.connect(s3Connector(connectorOptions), sync)
  },
}
