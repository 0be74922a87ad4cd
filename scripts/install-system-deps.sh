#!/bin/sh
# Debian packages the full test suite needs: Ceph radosgw (the S3 tests' real server) and Chromium (browser
# tests). Idempotent and quick when everything is there; one apt-get update for both. Without apt-get it says
# what is missing and exits 1 (PROJ_SKIP_SYSTEM_DEPS=1 goes on without them).
set -eu
missing=""
command -v radosgw >/dev/null 2>&1 && command -v ceph-mon >/dev/null 2>&1 && command -v ceph-osd >/dev/null 2>&1 \
  || missing="$missing radosgw ceph-mon ceph-osd"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
if [ -z "$missing" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<EOF
install-system-deps: missing:$missing
  This machine has no apt-get, so they cannot be installed for you. The tests need:
  - Ceph radosgw, ceph-mon and ceph-osd (16 or later) on PATH: the S3 tests start a throwaway cluster
    (packages/connect-s3/test/radosgw.ts);
  - Chromium at /usr/bin/chromium: the browser tests (packages/core/test/browser, apps/todo).
  Install them with your package manager, or run PROJ_SKIP_SYSTEM_DEPS=1 npm test to run everything else
  (the tests that need them then fail, naming what is missing).
EOF
  [ "${PROJ_SKIP_SYSTEM_DEPS:-}" = 1 ] && exit 0
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-system-deps: need root (or sudo) to apt-get install:$missing" >&2
    exit 1
  fi
fi
echo "install-system-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
