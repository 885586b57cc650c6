#!/usr/bin/env bash
# Prepares the Python environment the example client's test uses: python3 with venv (apt-get when
# missing), then .build-python/ with examples/python/requirements.txt (protobuf from PyPI). Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
"$here/apt-install.sh" "${missing[@]}"

env_dir=.build-python
if ! "$env_dir/bin/python3" -c "import google.protobuf" >/dev/null 2>&1; then
    rm -rf "$env_dir"
    python3 -m venv "$env_dir"
    "$env_dir/bin/pip" install -q --disable-pip-version-check -r examples/python/requirements.txt
fi
