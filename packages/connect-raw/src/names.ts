import { checkName, parseFileCid } from '@proj/core/kit'

// Database and branch names follow core's one rule (see `checkName` in @proj/core/kit): path segments that
// need no escaping and can never mean "parent directory". This layout adds one rule of its own: branch names
// have no '.', so a branch's listing `<branch>.json` can never collide with another branch's entry folder.

export function checkDbName(name: unknown): asserts name is string {
  checkName(name, 'database name')
}

export function checkBranch(branch: unknown): asserts branch is string {
  checkName(branch, 'branch name')
  if ((branch as string).includes('.')) {
    // Permanent: core accepts the name, so sync would otherwise retry it for good, never ready, 'offline'.
    throw Object.assign(
      new TypeError(`branch name ${JSON.stringify(branch)} must not contain '.' in this store (its listing would be <branch>.json)`),
      { permanent: true },
    )
  }
}

/** Throws a TypeError unless `cid` is the canonical name of a stored file (see `parseFileCid`). */
export function checkCid(cid: unknown): asserts cid is string {
  parseFileCid(cid)
}
