#!/usr/bin/env bash
# Installs the system libraries jwksd builds against (Debian/Ubuntu), only when missing:
# libyaml-dev (YAML config), zlib1g-dev (compression), pkg-config (to find them).
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
dpkg -s libyaml-dev >/dev/null 2>&1 || missing+=(libyaml-dev)
dpkg -s zlib1g-dev >/dev/null 2>&1 || missing+=(zlib1g-dev)

"$(dirname "$0")/apt-install.sh" "${missing[@]}"

if ! command -v swift >/dev/null 2>&1; then
    echo "swift is not on PATH; install a Swift 6.1+ toolchain (https://swift.org/install)" >&2
    exit 1
fi
