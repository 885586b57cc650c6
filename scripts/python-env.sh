#!/usr/bin/env bash
# Prepares the Python environment of the Python client's tests and scripts: python3 with venv (apt-get when
# missing), then .build-python/ with examples/python/requirements.txt from PyPI (protobuf for the client;
# PyJWT, joserfc and cryptography for scripts/mint-tokens.py and scripts/bench-verify.py; pytest for
# scripts/python-tests.sh; hatchling, the client's build backend), then the client package itself,
# ./clients/python[pyjwt] (import jwksd; python -m jwksd). Idempotent, and quick when nothing changed: the
# package is reinstalled only when a hash of its sources differs from the last install's.
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
if ! "$env_dir/bin/python3" -c "import google.protobuf, jwt, joserfc, cryptography, pytest, hatchling" >/dev/null 2>&1 \
    || ! cmp -s "$requirements" "$env_dir/requirements.txt"; then
    if ! "$env_dir/bin/python3" -m pip --version >/dev/null 2>&1; then
        rm -rf "$env_dir"
        python3 -m venv "$env_dir"
    fi
    "$env_dir/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$env_dir/requirements.txt"
fi

# The client package: a plain (not editable) install, so the env runs what `pip install ./clients/python`
# gives users. Built with the env's hatchling (no build isolation: nothing is downloaded); its dependencies
# (protobuf, PyJWT[crypto]) are the pinned ones above.
package=clients/python
stamp="$env_dir/jwksd-client.sha256"
hash="$(cd "$package" && find pyproject.toml README.md jwksd -type f -not -path '*/__pycache__/*' -not -name '*.pyc' \
    -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
python="$(pwd)/$env_dir/bin/python3"
# (Imported from / so that a jwksd/ folder in the working directory does not answer instead.)
if [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ] || ! (cd / && "$python" -c "import jwksd.pyjwt") >/dev/null 2>&1; then
    "$env_dir/bin/pip" install -q --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall \
        "./$package[pyjwt]"
    echo "$hash" >"$stamp"
fi
