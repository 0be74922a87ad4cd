// A stored file's layout (header, blocks, naming) is part of the persisted format: see format/file.ts.
export { decodeCar, encodeCar, fileCid, verifyBlock, verifyFile, type FileHeader, type RawBlock } from '../format/file.js'
