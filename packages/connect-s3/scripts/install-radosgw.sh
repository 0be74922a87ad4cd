#!/bin/sh
# Installs Ceph radosgw + a monitor and an OSD from Debian, for the throwaway S3 cluster the tests start
# (test/radosgw.ts). Idempotent: does nothing when radosgw, ceph-mon and ceph-osd are already on PATH.
set -eu
if command -v radosgw >/dev/null 2>&1 && command -v ceph-mon >/dev/null 2>&1 && command -v ceph-osd >/dev/null 2>&1; then
  echo "install-radosgw: already installed ($(radosgw --version 2>/dev/null | head -n1))"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-radosgw: need root (or sudo) to apt-get install radosgw ceph-mon ceph-osd" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends radosgw ceph-mon ceph-osd
echo "install-radosgw: installed ($(radosgw --version 2>/dev/null | head -n1))"
