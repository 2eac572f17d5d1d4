#!/usr/bin/env bash
# Idempotent: make `prometheus` and `promtool` available (Debian package), for the tests marked
# `prometheus` and for `promtool test rules`. Does nothing when both are already on PATH.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends prometheus

# The package's postinst may try to start the daemon; there is no systemd here, so nothing runs.
command -v promtool >/dev/null
command -v prometheus >/dev/null
promtool --version | head -n 1
