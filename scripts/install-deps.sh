#!/usr/bin/env bash
# Installs the system libraries jwksd builds against (Debian/Ubuntu), only when missing:
# libyaml-dev (YAML config), zlib1g-dev (compression), pkg-config (to find them).
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
dpkg -s libyaml-dev >/dev/null 2>&1 || missing+=(libyaml-dev)
dpkg -s zlib1g-dev >/dev/null 2>&1 || missing+=(zlib1g-dev)

if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "swift is not on PATH; install a Swift 6.1+ toolchain (https://swift.org/install)" >&2
    exit 1
fi
