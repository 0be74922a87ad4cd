#!/bin/sh
# Installs Debian's chromium for the browser tests (packages/core/test/browser). Idempotent.
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=''
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
