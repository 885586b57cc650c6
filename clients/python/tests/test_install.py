"""``pip install ./clients/python`` in a fresh venv: ``import jwksd`` works and protobuf is the only third-party
package installed. Needs PyPI (protobuf, and hatchling to build): skipped when JWKSD_TESTS_OFFLINE=1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PACKAGE

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(os.environ.get("JWKSD_TESTS_OFFLINE") == "1", reason="JWKSD_TESTS_OFFLINE=1"),
]


def test_fresh_venv_install(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    install = subprocess.run(
        pip + ["install", "-q", str(PACKAGE)], capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
    )
    assert install.returncode == 0, install.stdout + install.stderr
    listed = subprocess.run(pip + ["list", "--format=json"], capture_output=True, text=True, check=True, timeout=60)
    names = {package["name"].lower() for package in json.loads(listed.stdout)}
    assert names - {"pip", "setuptools", "wheel", "jwksd-client"} == {"protobuf"}
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import jwksd, jwksd.client, jwksd.cache, jwksd.aio\n"
         "from jwksd.v1 import jwksd_pb2\n"
         "assert jwksd_pb2.GetKeyRequest(kid='k').SerializeToString() == b'\\x1a\\x01k'\n"
         "try:\n    import jwksd.pyjwt\nexcept ImportError as e:\n    print('no-pyjwt', e)\n"
         "print(jwksd.__version__)"],
        capture_output=True, text=True, timeout=60, cwd=str(tmp_path),
    )
    assert check.returncode == 0, check.stderr
    assert "no-pyjwt" in check.stdout and 'jwksd-client[pyjwt]' in check.stdout
    # The package's files are installed, the tests are not.
    assert (venv / "lib").exists()
    assert not list(venv.glob("lib/python*/site-packages/tests"))
    help_text = subprocess.run([str(venv / "bin" / "python"), "-m", "jwksd", "--help"], capture_output=True, text=True,
                               timeout=60, cwd=str(tmp_path))
    assert help_text.returncode == 0 and "verify" in help_text.stdout
