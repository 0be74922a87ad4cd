/**
 * Every shape core persists, locally or remotely, with its encoder, its decoder (which checks the shape and
 * the version, naming the record on error) and its current version. The byte-by-byte description and the
 * version history are in docs/FORMAT.md; test/format.test.ts pins the bytes of every encoder.
 */
export { CID, decodeBlock, encodeBlock, type Block } from './block.js'
export {
  compareCids,
  decodeEvent,
  encodeDeltaEvent,
  encodeEvent,
  isDelta,
  type CheckpointEvent,
  type ClockEvent,
  type DeltaEvent,
} from './event.js'
export {
  decodeTreeNode,
  encodeTreeNode,
  type Body,
  type BranchNode,
  type Entry,
  type EntryMeta,
  type LeafNode,
  type TreeNode,
  type Version,
} from './tree-node.js'
export { FILE_VERSION, decodeCar, encodeCar, fileCid, verifyBlock, verifyFile, type FileHeader, type RawBlock } from './file.js'
export {
  ENVELOPE_VERSION,
  IV_LENGTH,
  KEY_ID_LENGTH,
  MAX_EPOCH,
  decodeEnvelope,
  encodeEnvelope,
  encodeEnvelopeV2,
  envelopeV2Prefix,
  type Envelope,
} from './envelope.js'
export { HEAD_VERSION, decodeHeadRecord, decodeMetaEntry, encodeHeadRecord, encodeMetaEntry, type HeadState } from './head.js'
export { KEYBAG_VERSION, decodeKeyRing, decodeKeybag, encodeKeyRing, encodeKeybag, type KeybagContent } from './keybag.js'
export { KEY_EPOCH_VERSION, decodeKeyEpochFile, encodeKeyEpochFile } from './key-epoch.js'
export { INDEX_RECORD_VERSION, decodeIndexRecord, encodeIndexRecord, type IndexState } from './index-record.js'
export { OUTBOX_RECORD_VERSION, decodeOutboxRecord, encodeOutboxRecord, type OutboxRecord } from './outbox-record.js'
export {
  COMPACTION_RECORD_VERSION,
  decodeCompactionRecord,
  encodeCompactionRecord,
  type CompactionRecord,
} from './compaction-record.js'
export {
  COMPACTION_SUMMARY_VERSION,
  decodeCompactionSummary,
  encodeCompactionSummary,
  type CompactionSummary,
} from './compaction-summary.js'
export { REPLICATED_RECORD_VERSION, decodeReplicatedRecord, encodeReplicatedRecord } from './replicated-record.js'
export { recordVersion } from './version.js'
