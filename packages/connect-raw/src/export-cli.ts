#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { exportDatabase } from './export.js'

const usage = 'Usage: proj-export --name <database> --out <folder> [--dir <data dir>] [--branch main]'

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    dir: { type: 'string' },
    out: { type: 'string' },
    branch: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (values.help) {
  console.log(usage)
  process.exit(0)
}
if (!values.name || !values.out) {
  console.error(usage)
  process.exit(2)
}

try {
  await exportDatabase({
    name: values.name,
    out: values.out,
    ...(values.dir === undefined ? {} : { dir: values.dir }),
    ...(values.branch === undefined ? {} : { branch: values.branch }),
  })
  console.log(`proj-export: ${values.name} -> ${values.out} (serve it with: proj-serve --read-only --dir ${values.out})`)
} catch (error) {
  console.error(`proj-export: ${(error as Error).message}`)
  process.exit(1)
}
