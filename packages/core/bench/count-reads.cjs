// Preload: counts reads of stored files (files/<cid>), so a benchmark can report how many files a cold read opens.
const fsp = require('node:fs/promises')
const { syncBuiltinESMExports } = require('node:module')
const original = fsp.readFile
const opened = new Set()
fsp.readFile = function (path, ...rest) {
  if (typeof path === 'string' && /[\\/]files[\\/][^\\/]+$/.test(path)) opened.add(path)
  return original.call(this, path, ...rest)
}
syncBuiltinESMExports()
globalThis.__filesRead = () => opened.size
