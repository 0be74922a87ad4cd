/**
 * The wire protocol between the connector and the party server. Files travel over HTTP; meta entries travel
 * over the room's websocket as JSON, with entry bytes in base64, and so do the small files a save pushes.
 *
 * HTTP (room URL = `/parties/<party>/<room>`):
 *   PUT  <room>/data/<cid>     body = the file bytes        -> 204 | 400 (hash, name) | 401 (token) | 413 (size)
 *   GET  <room>/data/<cid>                                  -> 200 bytes | 400 (name) | 404
 *   GET  <room>/meta/<branch>                               -> 200 { entries: WireEntry[] } | 400 (name)
 * Writes carry `Authorization: Bearer <token>` when the server has a token (the room's own token under
 * PROJ_TOKEN_SECRET). Names: see names.ts; a CID must be in its canonical form.
 *
 * Websocket (`?token=<token>` in the URL when the server has a token):
 *   server -> client  { type: 'entries', branch, entries, full: true }    once per branch on connect,
 *   server -> client  { type: 'synced' }                                  then this (branches not sent are empty)
 *   server -> client  { type: 'entries', branch, entries, replaces, files? } when another client saves
 *   client -> server  { type: 'save', id, branch, entry, replaces, files? }
 *   client -> server  { type: 'file', id, cid, bytes }                    a small file (an upload without HTTP)
 *   server -> client  { type: 'ack', id } | { type: 'error', id, status, message }
 *   client -> server  { type: 'ping' }                                    after a silence (the heartbeat)
 *   server -> client  { type: 'pong' }                                    its answer, to that client alone
 * A `file` message stores the file as `PUT data/<cid>` does (same checks and answers), for files of at most
 * PUSHED_FILE_BYTES: a put's file costs one message on the open socket instead of an HTTP request. A server
 * without it answers 400 (unknown message type), and the client uploads over HTTP from then on.
 * A save's `files` names the small files its client uploaded since its previous save (the files the entry's
 * push uploaded, its head files among them): a hint, any list of strings is accepted. The server pushes
 * those it holds (each at most PUSHED_FILE_BYTES, together at most PUSHED_FILES_BYTES) with the entry, in
 * the `entries` message's `files`, so a subscriber need not download them. A client takes pushed bytes only
 * when they hash to their CID (else it downloads); servers and clients without `files` ignore it.
 * A client takes any message as a sign of life, so a server without `ping` (it answers 400 "unknown message
 * type", an error without an id) keeps the heartbeat satisfied as a `pong` does; clients ignore `pong`.
 */
import type { WireMetaEntry } from '@proj/core/kit'

/** A meta entry on the wire: core's text form (`bytes` in padded base64, see metaEntryToWire). */
export type WireEntry = WireMetaEntry

export interface EntriesMessage {
  type: 'entries'
  branch: string
  entries: WireEntry[]
  /** The current set of the branch (sent on connect): replaces what the client knew. */
  full?: boolean
  /** Cids the new entries replaced (removed on the server). */
  replaces?: string[]
  /** Small files the saver uploaded for this entry (see the `files` of a save), bytes in padded base64. */
  files?: WireFile[]
}

/** A stored file in a message: its CID and its bytes in padded base64 (the same shape as a meta entry). */
export type WireFile = WireMetaEntry

/** Largest file a save's push carries (a put's head file is ~1 KB, a checkpoint's a few KB). */
export const PUSHED_FILE_BYTES = 16 * 1024
/** Most bytes of files one push carries, and most files named in one save. */
export const PUSHED_FILES_BYTES = 64 * 1024
export const PUSHED_FILES_MAX = 64

export interface SaveMessage {
  type: 'save'
  id: string
  branch: string
  entry: WireEntry
  replaces: string[]
  /** Small files this client uploaded since its previous save (a hint: see the protocol above). */
  files?: string[]
}

export interface AckMessage {
  type: 'ack'
  id: string
}

export interface ErrorMessage {
  type: 'error'
  id?: string
  status: number
  message: string
}

/** Sent after the `full` entries on connect: the client now knows every branch of the room. */
export interface SyncedMessage {
  type: 'synced'
}

export interface FileMessage {
  type: 'file'
  id: string
  cid: string
  /** base64, padded */
  bytes: string
}

/** The heartbeat: a client checks that its socket still reaches the server (any answer will do). */
export interface PingMessage {
  type: 'ping'
}

export interface PongMessage {
  type: 'pong'
}

export type ServerMessage = EntriesMessage | SyncedMessage | AckMessage | ErrorMessage | PongMessage
export type ClientMessage = SaveMessage | FileMessage | PingMessage
