import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { database } from '@proj/core'
import { dirConnector } from '@proj/connect-raw/dir'
import { progress } from '../progress.js'
import { CliError, parse, printHelp, UsageError } from '../usage.js'
import type { Command } from './command.js'

const help = `Usage: proj export --name <database> --out <folder> [--dir <data dir>] [--key <key>] [--branch main] [--quiet]

Copies a local database into a store folder: every encrypted file, then the meta. proj serve --read-only
or any static web server can serve the folder, and connect.http(db, url) reads from it on any device that
has the key. The files stay encrypted: the key is never written to the folder.
(Same as the proj-export command of @proj/connect-raw, with a progress bar.)

Options:
  --name <database>   the database name, as in database(name, { dir })
  --dir <data dir>    where the local database lives (default ./.proj-data): it is <dir>/<name>/
  --out <folder>      the store folder to write (exporting again adds only what is new)
  --key <key>         the key, when it is not kept in <dir> (or set PROJ_KEY)
  --branch <branch>   meta branch, default main
  --quiet             no progress line

Example:
  proj export --name todos --dir ./data --out ./public/store
  proj serve --read-only --dir ./public/store --port 8080
`

export const exportCommand: Command = {
  name: 'export',
  summary: 'copy a local database into a static store folder (was proj-export)',
  help,
  async run(args) {
    const { values } = parse('export', args, {
      name: { type: 'string' },
      dir: { type: 'string' },
      out: { type: 'string' },
      key: { type: 'string' },
      branch: { type: 'string' },
      quiet: { type: 'boolean' },
    }, [])
    if (values.help) return printHelp(help)
    if (!values.name) throw new UsageError('export', 'Missing --name <database>')
    if (!values.out) throw new UsageError('export', 'Missing --out <folder>: the store folder to write')
    const dir = values.dir ?? '.proj-data'
    if (!existsSync(join(resolve(dir), values.name, 'records', 'keybag'))) {
      throw new CliError(`No database ${JSON.stringify(values.name)} in ${resolve(dir)} (pass --dir <data dir>)`)
    }
    const key = values.key ?? process.env.PROJ_KEY
    const db = database(values.name, { dir, ...(key ? { key } : {}) })
    const bar = progress('exporting', { quiet: values.quiet ?? false })
    try {
      const sync = db.connect(dirConnector(values.out), { pollInterval: 0, ...(values.branch ? { branch: values.branch } : {}) })
      sync.on('progress', ({ upload }) => bar.update({ done: upload.done, total: upload.files, bytes: upload.bytes }))
      try {
        await sync.ready
        await sync.flush()
        bar.end()
        const { upload } = sync.progress
        process.stdout.write(
          `proj export: ${values.name} -> ${values.out}: ${upload.done} new files` +
            ` (serve it with: proj serve --read-only --dir ${values.out})\n`,
        )
      } finally {
        await sync.close()
      }
    } finally {
      bar.end()
      await db.close()
    }
    return 0
  },
}
