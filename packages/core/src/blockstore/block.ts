export { CID, decodeBlock, encodeBlock, type Block } from '../format/block.js'
