// Runs the script named by argv[2] as if node had been started on it (argv shifted back), then reports on fd 3
// that its top-level code has finished: whatever runs after that is what keeps the process alive.
import { closeSync, writeSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

process.argv.splice(1, 1)
await import(pathToFileURL(resolve(process.argv[1])).href)
writeSync(3, 'finished\n')
closeSync(3)
