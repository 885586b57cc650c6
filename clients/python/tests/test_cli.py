"""``python -m jwksd``: the command line of the former examples/python/jwksd_client.py (same output, same exit
codes: 10 + the status code)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import List, Optional

from conftest import AUDIENCE, ISSUER, PACKAGE


def run(arguments: List[str], stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if os.environ.get("JWKSD_TEST_INSTALLED") != "1":
        environment["PYTHONPATH"] = str(PACKAGE)
    return subprocess.run(
        [sys.executable, "-m", "jwksd", *arguments],
        input=stdin, capture_output=True, text=True, env=environment, timeout=30, cwd="/",
    )


def test_get_keys_status_health(shared) -> None:
    socket = ["--socket", shared.socket]
    get = run(socket + ["get", "--tenant", "acme", "--kid", "ec-1", "--alg", "ES256"])
    assert get.returncode == 0, get.stderr
    assert json.loads(get.stdout) == shared.keys["ec"].jwk and get.stdout.endswith("}\n")
    keys = run(socket + ["keys", "--tenant", "acme", "--provider", "login"])
    assert keys.returncode == 0 and len(json.loads(keys.stdout)["keys"]) == 4
    status = run(socket + ["status"])
    assert status.returncode == 0
    lines = [json.loads(line) for line in status.stdout.splitlines()]
    assert lines[0] == {"tenant": "acme", "provider": "login", "standing": "fresh", "keys": 4, "last_error": ""}
    assert '"standing": "fresh", "keys": 4' in status.stdout
    health = run(socket + ["health"])
    assert health.returncode == 0 and health.stdout == "serving: True (2/3 providers ready)\n"


def test_exit_codes(shared, tmp_path) -> None:
    socket = ["--socket", shared.socket]
    missing = run(socket + ["get", "--tenant", "acme", "--kid", "nope"])
    assert missing.returncode == 15 and missing.stderr.startswith('NOT_FOUND: kid "nope"'), missing.stderr
    bad = run(socket + ["get", "--tenant", "acme", "--kid", "ec-1", "--alg", "HS256"])
    assert bad.returncode == 13 and bad.stderr.startswith("INVALID_ARGUMENT: ")
    absent = run(["--socket", str(tmp_path / "none.sock"), "health"])
    assert absent.returncode == 24 and absent.stderr.startswith("UNAVAILABLE: cannot connect"), absent.stderr
    usage = run(["get"])
    assert usage.returncode == 2


def test_verify(shared, monkeypatch) -> None:
    now = int(time.time())
    claims = json.dumps({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 600}, separators=(",", ":"))
    token = shared.keys["rsa"].token(json.loads(claims))
    socket = ["--socket", shared.socket]
    verified = run(socket + ["verify", "--tenant", "acme", "--provider", "login", token])
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout) == json.loads(claims) and verified.stdout.endswith("}\n")
    from_stdin = run(socket + ["verify", "--tenant", "acme", "--provider", "login"], stdin=token + "\n")
    assert from_stdin.returncode == 0 and from_stdin.stdout == verified.stdout
    expired = shared.keys["rsa"].token({"iss": ISSUER, "aud": AUDIENCE, "exp": 1000})
    refused = run(socket + ["verify", "--tenant", "acme", "--provider", "login", expired])
    assert refused.returncode == 26 and refused.stderr.startswith("UNAUTHENTICATED: expired: "), refused.stderr
    other = run(socket + ["verify", "--tenant", "acme", "--provider", "login", "--audience", "web", token])
    assert other.returncode == 26 and other.stderr.startswith("UNAUTHENTICATED: bad_audience: ")
    monkeypatch.setenv("JWKSD_SOCKET", shared.socket)
    assert run(["health"]).returncode == 0
