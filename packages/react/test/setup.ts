import { configure } from '@testing-library/react'

// waitFor's own default (1 s) is a timing assumption: on a loaded machine a condition reached later fails the
// test though nothing is wrong. waitFor waits on a condition, so its bound only needs to end a real hang.
configure({ asyncUtilTimeout: 20_000 })
