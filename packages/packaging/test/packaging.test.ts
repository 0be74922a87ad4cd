// The published packages as a stranger installs them: packed with pnpm, installed with plain npm, each
// package's example type-checked with tsc --strict and run with node (see ../check-packages.mjs).
import { beforeAll, describe, expect, it } from 'vitest'
import { checkPackages, publicPackages } from '../check-packages.mjs'

const names = publicPackages().map(({ manifest }) => manifest.name as string)

describe('packages a stranger can install', () => {
  let result: Awaited<ReturnType<typeof checkPackages>>

  beforeAll(async () => {
    result = await checkPackages()
  }, 600_000)

  it('covers every public package', () => {
    expect(names).toEqual(expect.arrayContaining(['@proj/core', '@proj/connect-raw', '@proj/react']))
    expect(Object.keys(result.packages).sort()).toEqual([...names].sort())
  })

  it.each(names)('%s: manifest, tarball, publint, arethetypeswrong, example under tsc --strict and node', (name) => {
    expect(result.packages[name]).toEqual([])
  })

  it('installs one major of each shared IPLD dependency and needs no workspace', () => {
    expect(result.project).toEqual([])
  })
})
