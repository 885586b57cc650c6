#!/usr/bin/env python3
"""Regenerates the committed seed corpora in Fuzz/Corpus/ from the repository's fixtures:
Protocol/vectors (frames, connections, requests), examples/*.yaml and the tests' registries (yaml), the JWKS
corpus in Tests/JWKSTests/Fixtures (jwks), header samples (headers), snapshot files written by the daemon's own
format (snapshot), Wycheproof's JWS tokens in Tests/JWSTests/Fixtures (jws). Run from anywhere: scripts/fuzz-seeds.py"""
import glob, hashlib, json, os, re, struct, zlib

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "Fuzz", "Corpus")


def save(target, data):
    directory = os.path.join(out, target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(directory, name), "wb") as handle:
        handle.write(data)


def vector(path):
    text = "".join(line.split("#")[0] for line in open(path))
    return bytes.fromhex(re.sub(r"\s+", "", text))


vectors = {os.path.basename(p): vector(p) for p in sorted(glob.glob(os.path.join(root, "Protocol/vectors/*.hex")))}
requests = [v for n, v in vectors.items() if "request" in n or "cancel" in n or "ping" in n]
for name, frame in vectors.items():
    save("frame", bytes([len(frame) % 16]) + frame)
save("connection", b"".join(requests))
for frame in requests:
    save("connection", frame)
    if frame[5] == 1:  # REQUEST: method byte + payload for the dispatcher
        save("request", bytes([frame[7] - 1]) + frame[12:])
        save("request", bytes([(frame[7] - 1) | 0x80]) + frame[12:])

for path in glob.glob(os.path.join(root, "examples", "*.yaml")):
    save("yaml", open(path, "rb").read())
save("yaml", b"version: 1\nserver:\n  socket: ./s.sock\n  max_connections_per_uid: 4\ndefaults:\n  allow_private_networks: true\n  retry: { jitter: none }\ntenants:\n  a:\n    allowed_uids: [1]\n    providers:\n      p: { file: k.json, min_ttl: 1m }\n")
save("yaml", b"version: 1\nx: &a { refresh_early: 1m }\ndefaults:\n  <<: *a\ntenants: {}\n")

wycheproof = json.load(open(os.path.join(root, "Tests/JWSTests/Fixtures/wycheproof-json_web_signature_test.json")))
for group in wycheproof["testGroups"]:
    for test in group["tests"]:
        if isinstance(test.get("jws"), str):
            save("jws", test["jws"].encode())

for path in sorted(glob.glob(os.path.join(root, "Tests/JWKSTests/Fixtures/*.json"))):
    data = open(path, "rb").read()
    if len(data) <= 16384:
        save("jwks", data)

for sample in [
    [b"public, max-age=3600, stale-if-error=86400", b"", b"Tue, 01 Dec 2026 12:00:00 GMT", b"120", b'"abc"', b"", b"/v2/jwks?x=https://other/"],
    [b"no-cache, no-store", b"Wed, 02 Dec 2026 12:00:00 GMT", b"Tuesday, 01-Dec-26 12:00:00 GMT", b"", b"W/\"w\"", b"Tue Dec  1 12:00:00 2026", b"//cdn.example.com/k"],
    [b"s-maxage=60, max-age=10", b"0", b"", b"99999999999", b"", b"", b"keys"],
]:
    save("headers", b"\x00".join(sample))

document = open(os.path.join(root, "examples/keys/acme.json")).read()
entry = {
    "tenant": "acme", "provider": "idp", "source": "jwks_uri https://idp.example.com/jwks", "document": document,
    "cacheControl": "max-age=600", "etag": '"v1"', "fetchedAt": 1795953000, "validatedAt": 1795953500,
    "ttlSeconds": 600, "freshnessSource": "max-age", "staleIfErrorSeconds": 3600,
}
# The snapshot target's first byte says what follows: 0 a whole file, 1 the JSON entry, 2 the zlib payload.
payload = zlib.compress(json.dumps(entry).encode())
save("snapshot", b"\x00JWKSDSNP\x01" + struct.pack(">I", len(payload)) + payload + hashlib.sha256(payload).digest())
save("snapshot", b"\x01" + json.dumps(entry).encode())
save("snapshot", b"\x02" + payload)
stale = dict(entry, validatedAt=1795000000, fetchedAt=1795000000, ttlSeconds=2147483648, staleIfErrorSeconds=None)
save("snapshot", b"\x01" + json.dumps(stale).encode())
