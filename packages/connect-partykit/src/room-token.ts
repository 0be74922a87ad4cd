/**
 * Per-room tokens: with `PROJ_TOKEN_SECRET` set, the party server accepts writes to a room only with that
 * room's token, HMAC-SHA256(secret, room name) in unpadded base64url. Your backend, which knows the secret,
 * hands each user the tokens of the rooms they may write; a token for one room grants no other.
 */
import { base64url } from 'multiformats/bases/base64'

const encoder = new TextEncoder()

/** The token for `room` under `secret` (what the server expects in `Authorization: Bearer …` / `?token=`). */
export async function roomToken(secret: string, room: string): Promise<string> {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('roomToken needs a non-empty secret string')
  if (typeof room !== 'string' || room === '') throw new TypeError(`roomToken needs a non-empty room name, got ${JSON.stringify(room)}`)
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(room)))
  // multiformats' base64url encoder prefixes the multibase code 'u'; the token is the bare encoding.
  return base64url.baseEncode(mac)
}
