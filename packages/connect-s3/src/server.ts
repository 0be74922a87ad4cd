/**
 * The server half of presigned-URL mode. `createSigningHandler` returns a Node `(req, res)` handler that you
 * mount in your own server (node:http, Express, …) behind your own authentication: it answers the JSON
 * requests of `s3PresignedConnector` with short-lived presigned URLs, and only for keys of the layout
 * `<prefix>/<db>/data/<cid>` and `<prefix>/<db>/meta/<branch>/<cid>` whose names are valid CIDs. The
 * browser never sees AWS credentials and cannot touch any other key.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { SignatureV4 } from '@smithy/signature-v4'
import { isPermanentError, parseFileCid as parseCid } from '@proj/core/kit'
import { toHex } from 'multiformats/bytes'
import { Layout, checksumOf, segment } from './keys.js'
import { MAX_REPLACES_PER_SIGN, type SignRequest, type SignResponse, type SignedRequest } from './protocol.js'

export { MAX_REPLACES_PER_SIGN, type SignRequest, type SignResponse, type SignedRequest } from './protocol.js'

export interface SigningHandlerOptions {
  /** A client with credentials for the bucket (see `s3ClientConfig` for defaults that suit older servers). */
  client: S3Client
  bucket: string
  /** Key prefix under which every database lives; must match nothing else you keep in the bucket. */
  prefix?: string
  /** Lifetime of each URL in seconds (default 300). */
  expiresIn?: number
  /**
   * Required. Decides whether this request may touch this database (`request.db`, `request.op`); anything but
   * `true` (or a throw) answers 403. Everyone who can reach the handler can otherwise overwrite and delete the
   * meta entries, so there is no default: pass `'allow-all'` to sign every valid request, only when the
   * handler already sits behind your own authentication.
   */
  authorize: Authorize | 'allow-all'
  /** Bind every PUT to its CID's SHA-256 (`x-amz-checksum-sha256` as a signed header). Default true. */
  checksum?: boolean
}

export type Authorize = (req: IncomingMessage, request: SignRequest) => boolean | Promise<boolean>

// A server's own answer (status + text), not part of the connector kit: each server speaks its runtime's HTTP
// (node:http here, workerd in connect-partykit) and its own body limits; only these lines are alike.
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const MAX_BODY = 256 * 1024

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY) throw new HttpError(413, `Request body over ${MAX_BODY} bytes`)
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'Request body is not JSON')
  }
}

/** Checks a request's shape and names; invalid ones answer 400 with the TypeError's message. */
function parseRequest(body: unknown): SignRequest {
  try {
    if (!body || typeof body !== 'object') throw new TypeError('Invalid request: expected a JSON object')
    const b = body as Record<string, unknown>
    segment('database name', b.db)
    const db = b.db as string
    switch (b.op) {
      case 'upload':
      case 'download':
        parseCid(b.cid)
        return { op: b.op, db, cid: b.cid as string }
      case 'save': {
        segment('branch', b.branch)
        parseCid(b.cid)
        if (!Array.isArray(b.replaces) || b.replaces.length > MAX_REPLACES_PER_SIGN) {
          throw new TypeError(`Invalid replaces: expected an array of at most ${MAX_REPLACES_PER_SIGN} CIDs`)
        }
        for (const cid of b.replaces) parseCid(cid)
        return { op: 'save', db, branch: b.branch as string, cid: b.cid as string, replaces: b.replaces as string[] }
      }
      case 'load':
        segment('branch', b.branch)
        return { op: 'load', db, branch: b.branch as string }
      default:
        throw new TypeError(`Invalid op: ${JSON.stringify(b.op)} (expected upload, download, save or load)`)
    }
  } catch (err) {
    if (err instanceof TypeError) throw new HttpError(400, err.message)
    throw err
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(text)
}

const SDK_HEADERS = ['amz-sdk-invocation-id', 'amz-sdk-request', 'x-amz-user-agent', 'user-agent', 'content-type']

/**
 * A presigned PUT whose signed payload hash is the CID's digest. getSignedUrl always signs
 * UNSIGNED-PAYLOAD; here the request is built by the client's own middleware (endpoint, path or virtual-host
 * style) and signed with `x-amz-content-sha256` = the digest as a header the uploader must send, so servers
 * that verify signed payloads (AWS, Ceph radosgw, MinIO) refuse bytes that do not hash to the CID.
 * `x-amz-checksum-sha256` goes along for servers that check flexible checksums.
 */
async function presignPinnedPut(
  client: S3Client,
  command: PutObjectCommand,
  cid: ReturnType<typeof parseCid>,
  expiresIn: number,
): Promise<SignedRequest> {
  const headers = { 'x-amz-content-sha256': toHex(cid.multihash.digest), 'x-amz-checksum-sha256': checksumOf(cid) }
  const stack = client.middlewareStack.clone()
  // Stops the pipeline right before signing and hands back the built request and the signing region.
  const capture = (_next: unknown, context: Record<string, unknown>) => async (args: { request: unknown }) => ({
    response: {},
    output: { $metadata: {}, request: args.request, region: context.signing_region },
  })
  stack.addRelativeTo(capture as never, {
    name: 'capturePinnedPut',
    relation: 'before',
    toMiddleware: 'awsAuthMiddleware',
    override: true,
  })
  const handler = command.resolveMiddleware(stack as never, client.config, {})
  const { output } = (await handler({ input: command.input } as never)) as unknown as {
    output: {
      region?: string
      request: { protocol: string; hostname: string; port?: number; path: string; headers: Record<string, string> }
    }
  }
  const request = output.request
  for (const name of Object.keys(request.headers)) {
    if (SDK_HEADERS.includes(name.toLowerCase()) || name.toLowerCase().startsWith('x-amz-checksum-') || name.toLowerCase() === 'x-amz-sdk-checksum-algorithm') {
      delete request.headers[name]
    }
  }
  Object.assign(request.headers, headers)
  const signer = new SignatureV4({
    credentials: client.config.credentials,
    region: output.region ?? (await client.config.region()),
    service: 's3',
    sha256: client.config.sha256,
    uriEscapePath: false,
  })
  const signed = await signer.presign(request as never, { expiresIn, unhoistableHeaders: new Set(Object.keys(headers)) })
  const query = Object.entries((signed.query ?? {}) as Record<string, string | string[] | null>)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => (x === null ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(x)}`)))
    .join('&')
  const port = signed.port ? `:${signed.port}` : ''
  return { url: `${signed.protocol}//${signed.hostname}${port}${signed.path}${query ? `?${query}` : ''}`, headers }
}

/** A Node request handler that issues presigned S3 URLs for `s3PresignedConnector`. POST only. */
export function createSigningHandler(options: SigningHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { client, bucket } = options ?? ({} as SigningHandlerOptions)
  const authorize = options?.authorize
  if (authorize !== 'allow-all' && typeof authorize !== 'function') {
    throw new TypeError(
      `createSigningHandler needs authorize: a function (req, request) => boolean that decides who may sign for which database, ` +
        `or 'allow-all' to sign for anyone who reaches the handler; got ${typeof authorize === 'string' ? JSON.stringify(authorize) : String(authorize)}`,
    )
  }
  if (!client || typeof client.send !== 'function') throw new TypeError('Invalid client: expected an S3Client')
  if (typeof bucket !== 'string' || bucket === '') throw new TypeError(`Invalid S3 bucket: ${JSON.stringify(bucket)}`)
  const expiresIn = options.expiresIn ?? 300
  if (!Number.isInteger(expiresIn) || expiresIn <= 0) throw new TypeError(`Invalid expiresIn: ${JSON.stringify(expiresIn)}`)
  const layout = new Layout(options.prefix)
  const checksum = options.checksum ?? true

  const presign = async (command: GetObjectCommand | PutObjectCommand | DeleteObjectCommand, headers?: Record<string, string>) => {
    const url = await getSignedUrl(client, command, {
      expiresIn,
      ...(headers ? { unhoistableHeaders: new Set(Object.keys(headers)) } : {}),
    })
    return headers ? { url, headers } : { url }
  }
  const putUrl = (key: string, cid: string): Promise<SignedRequest> => {
    if (!checksum) return presign(new PutObjectCommand({ Bucket: bucket, Key: key }))
    return presignPinnedPut(client, new PutObjectCommand({ Bucket: bucket, Key: key }), parseCid(cid), expiresIn)
  }
  const getUrl = (key: string) => presign(new GetObjectCommand({ Bucket: bucket, Key: key }))
  const deleteUrl = (key: string) => presign(new DeleteObjectCommand({ Bucket: bucket, Key: key }))

  const answer = async (request: SignRequest): Promise<SignResponse[SignRequest['op']]> => {
    switch (request.op) {
      case 'upload':
        return putUrl(layout.dataKey(request.db, request.cid), request.cid)
      case 'download':
        return getUrl(layout.dataKey(request.db, request.cid))
      case 'save': {
        const { db, branch, cid } = request
        const replaces = request.replaces.filter((r) => r !== cid)
        return {
          put: await putUrl(layout.metaKey(db, branch, cid), cid),
          delete: await Promise.all(replaces.map(async (r) => ({ cid: r, ...(await deleteUrl(layout.metaKey(db, branch, r))) }))),
        }
      }
      case 'load': {
        // LIST is proxied: the listing is the only thing the client could not sign for itself per key.
        const prefix = layout.metaPrefix(request.db, request.branch)
        const names: string[] = []
        let token: string | undefined
        do {
          const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
          for (const object of out.Contents ?? []) {
            const name = object.Key?.slice(prefix.length)
            if (!name) continue
            try {
              parseCid(name)
              names.push(name)
            } catch {
              // not an entry
            }
          }
          token = out.IsTruncated ? out.NextContinuationToken : undefined
        } while (token)
        return { entries: await Promise.all(names.map(async (cid) => ({ cid, ...(await getUrl(prefix + cid)) }))) }
      }
    }
  }

  return async (req, res) => {
    try {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST')
        throw new HttpError(405, `Method ${req.method} not allowed (POST a JSON request)`)
      }
      const request = parseRequest(await readJson(req))
      let allowed = authorize === 'allow-all'
      if (typeof authorize === 'function') {
        try {
          allowed = (await authorize(req, request)) === true
        } catch {
          allowed = false
        }
      }
      if (!allowed) throw new HttpError(403, `Not authorized: ${request.op} on ${JSON.stringify(request.db)}`)
      send(res, 200, await answer(request))
    } catch (err) {
      if (err instanceof HttpError) send(res, err.status, { error: err.message })
      else {
        // S3 refusing this server's own configuration (a wrong secret, a missing bucket) fails every request
        // alike: `permanent` lets the connector stop and say so instead of retrying for good.
        const error = `S3 request failed: ${(err as { name?: string })?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`
        send(res, 502, isPermanentError(err) ? { error, permanent: true } : { error })
      }
    }
  }
}
