#!/usr/bin/env bash
# Prepares the Python environment the example client's test uses: python3 with venv (apt-get when
# missing), then .build-python/ with examples/python/requirements.txt (protobuf from PyPI). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

env_dir=.build-python
if ! "$env_dir/bin/python3" -c "import google.protobuf" >/dev/null 2>&1; then
    rm -rf "$env_dir"
    python3 -m venv "$env_dir"
    "$env_dir/bin/pip" install -q --disable-pip-version-check -r examples/python/requirements.txt
fi
