#!/usr/bin/env bash
# Prepares the Python environment the example client's test uses: python3 with venv (apt-get when
# missing), then .build-python/ with examples/python/requirements.txt from PyPI (protobuf for the client;
# PyJWT, joserfc and cryptography for scripts/mint-tokens.py and scripts/bench-verify.py). Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
"$here/apt-install.sh" "${missing[@]}"

env_dir=.build-python
requirements=examples/python/requirements.txt
# Reinstalls when a package is missing or requirements.txt changed since the last install (its copy in the env).
if ! "$env_dir/bin/python3" -c "import google.protobuf, jwt, joserfc, cryptography" >/dev/null 2>&1 \
    || ! cmp -s "$requirements" "$env_dir/requirements.txt"; then
    if ! "$env_dir/bin/python3" -m pip --version >/dev/null 2>&1; then
        rm -rf "$env_dir"
        python3 -m venv "$env_dir"
    fi
    "$env_dir/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$env_dir/requirements.txt"
fi
