#!/bin/sh
# Debian packages the full test suite needs: Ceph radosgw (the S3 tests' real server) and Chromium (browser
# tests). Idempotent and quick when everything is there; one apt-get update for both.
set -eu
missing=""
command -v radosgw >/dev/null 2>&1 && command -v ceph-mon >/dev/null 2>&1 && command -v ceph-osd >/dev/null 2>&1 \
  || missing="$missing radosgw ceph-mon ceph-osd"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
if [ -z "$missing" ]; then
  exit 0
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
