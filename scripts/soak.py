#!/usr/bin/env python3
"""The soak run behind scripts/soak.sh: a jwksd daemon under a rotation storm while peers misbehave.

For DURATION seconds it runs, against one daemon (restarted every RESTART seconds, warm from its snapshots):
  - a DevIssuer rotation storm (`jwksd dev-issuer --rotate-every 10s`, STORM providers, max-age 10 s);
  - lookups of a stable key (a key file that never changes): every one must succeed while the daemon is up;
  - lookups of storm keys and a kid-miss storm (random kids; answers may be NOT_FOUND, never a dropped call);
  - a reload every few seconds (RPC Reload and SIGHUP, alternately), each adding or removing a tenant;
  - garbage connections (random bytes), slow connections (a partial frame held open), and Watch streams whose
    clients never read;
and samples the daemon's RSS and open descriptors every 5 s. It fails when a stable lookup fails while the
daemon is up, when the daemon exits other than by our SIGTERM, or when RSS or descriptors grow: the largest
value of each daemon lifetime in the last third of the run may not exceed that of the first third by more
than 25 % (RSS) or 64 (descriptors). The series goes to WORK/soak.csv and the summary to standard output."""
import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import jwksd  # the client package, clients/python (scripts/python-env.sh installs it into .build-python)
from jwksd.v1 import jwksd_pb2 as pb

STABLE_KEYS = """{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"stable-1","use":"sig","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"""


class Soak:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.socket = os.path.join(self.work, "jwksd.sock")
        self.config = os.path.join(self.work, "tenants.yaml")
        self.stop = threading.Event()
        self.up = threading.Event()
        self.lock = threading.Lock()
        self.daemon = None
        self.lifetime = 0
        self.counts = {}
        self.failures = []
        self.unexpected_exits = []
        self.samples = []
        self.extra_tenant = False
        self.restarts = []

    # -- registry and daemon -------------------------------------------------------------------------------

    def write_config(self):
        lines = [
            "version: 1",
            "server:",
            f'  socket: "{self.socket}"',
            "  snapshot_dir: ./state",
            "  max_connections: 512",
            "  idle_timeout: 20s",
            "defaults:",
            "  require_https: false",
            "  allow_private_networks: true",
            "  min_ttl: 1s",
            "  kid_miss_cooldown: 2s",
            "tenants:",
            "  stable:",
            "    providers:",
            "      disk: { file: ./stable.json }",
        ]
        for tenant in range(self.args.storm // 10):
            lines.append(f"  t{tenant}:")
            lines.append("    providers:")
            for index in range(tenant * 10, tenant * 10 + 10):
                lines.append(f'      p{index}: {{ jwks_uri: "{self.args.issuer}/p{index}/jwks" }}')
        if self.extra_tenant:
            lines += ["  extra:", "    providers:", f'      p0: {{ jwks_uri: "{self.args.issuer}/p0/jwks" }}']
        temporary = self.config + ".tmp"
        with open(temporary, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        os.rename(temporary, self.config)

    def start_daemon(self):
        log = open(os.path.join(self.work, "jwksd.log"), "a")
        self.daemon = subprocess.Popen(
            [self.args.jwksd, "serve", "--config", self.config, "--log-level", "warning"],
            stdout=log, stderr=log, cwd=self.work)
        self.lifetime += 1
        started = time.monotonic()
        while time.monotonic() - started < 30:
            if self.daemon.poll() is not None:
                raise SystemExit(f"the daemon exited at start with {self.daemon.returncode}")
            try:
                with jwksd.Client(self.socket, timeout=2) as client:
                    client.get_key("stable", "stable-1", provider="disk")
                self.restarts.append(round(time.monotonic() - started, 3))
                self.up.set()
                return
            except jwksd.Error:
                time.sleep(0.02)
        raise SystemExit("the daemon did not answer within 30 s of starting")

    def stop_daemon(self):
        self.up.clear()
        time.sleep(0.05)  # lookups in flight finish or fail as "down"
        self.daemon.send_signal(signal.SIGTERM)
        code = self.daemon.wait(timeout=30)
        if code != 0:
            self.unexpected_exits.append(f"lifetime {self.lifetime}: exit {code} after SIGTERM")

    def check_alive(self):
        if self.daemon and self.daemon.poll() is not None and self.up.is_set():
            self.up.clear()
            self.unexpected_exits.append(f"lifetime {self.lifetime}: the daemon died with {self.daemon.returncode}")
            self.start_daemon()

    # -- bookkeeping ---------------------------------------------------------------------------------------

    def count(self, name, amount=1):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + amount

    def loop(self, body, pause=0.0):
        def run():
            while not self.stop.is_set():
                if not self.up.is_set():
                    time.sleep(0.01)
                    continue
                try:
                    body()
                except Exception as error:  # noqa: BLE001 - a driver thread must keep going
                    self.count(f"driver error {type(error).__name__}")
                if pause:
                    time.sleep(pause)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    # -- peers ---------------------------------------------------------------------------------------------

    def stable_lookups(self):
        state = {"client": None, "lifetime": 0}

        def body():
            if state["client"] is not None and state["lifetime"] != self.lifetime:
                state["client"].close()  # connected to the daemon before the restart
                state["client"] = None
            if state["client"] is None:
                state["lifetime"] = self.lifetime
                state["client"] = jwksd.Client(self.socket, timeout=5)
            was_up = self.up.is_set()
            lifetime = self.lifetime
            try:
                key = state["client"].get_key("stable", "stable-1", provider="disk")
                if key.get("kid") != "stable-1":
                    self.failures.append(f"stable lookup answered kid {key.get('kid')}")
                self.count("stable ok")
            except jwksd.Error as error:
                state["client"].close()
                state["client"] = None
                # A failure counts when the same daemon was up before and after the call (a restart in between
                # closes the connection: that is the restart, not a failed lookup).
                if was_up and self.up.is_set() and self.lifetime == lifetime and self.daemon.poll() is None:
                    with self.lock:
                        elapsed = time.monotonic() - self.started
                        self.failures.append(
                            f"{elapsed:.1f}s (lifetime {lifetime}) stable lookup failed: {error!r}")
                else:
                    self.count("stable lookups during restart")
        return body

    def storm_lookups(self):
        state = {"client": None, "kids": {}}

        def body():
            if state["client"] is None:
                state["client"] = jwksd.Client(self.socket, timeout=5)
            provider = random.randrange(self.args.storm)
            tenant = f"t{provider // 10}"
            kids = state["kids"].get(provider)
            if kids is None or random.random() < 0.01:
                # Learn the kids served now (they change with every rotation).
                try:
                    document = state["client"].get_key_set(tenant, f"p{provider}")
                    kids = [key["kid"] for key in document["keys"] if "kid" in key]
                    state["kids"][provider] = kids
                except (jwksd.Error, ValueError, KeyError, TypeError):
                    kids = []
            kid = random.choice(kids) if kids and random.random() < 0.7 else f"miss-{random.getrandbits(48):x}"
            try:
                state["client"].get_key(tenant, kid, provider=f"p{provider}", timeout=2.0)
                self.count("storm hit")
            except jwksd.Error as error:
                # The client reconnects by itself (a call whose connection broke is retried once on a new one).
                self.count(f"storm {error.status}")
        return body

    def garbage(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(3)
        try:
            sock.connect(self.socket)
            choice = random.random()
            if choice < 0.4:
                payload = os.urandom(random.randrange(1, 4096))
            elif choice < 0.7:  # a valid header, then random bytes
                length = random.randrange(8, 2048)
                payload = struct.pack(">IBBBBI", length, 1, 1, random.randrange(0, 3), random.randrange(1, 12),
                                      random.randrange(1, 1 << 32)) + os.urandom(length - 8)
            else:  # a compressed request that is not zlib
                body = os.urandom(random.randrange(1, 512))
                payload = struct.pack(">IBBBBI", 8 + len(body), 1, 1, 1, 1, 7) + body
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
            self.count("garbage connections")
        except OSError:
            self.count("garbage connections reset")
        finally:
            sock.close()

    def slow_connections(self):
        held = []

        def body():
            while len(held) < 40:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(self.socket)
                    # The header of a 60 KB frame and 1 KB of it, then nothing.
                    sock.sendall(struct.pack(">IBBBBI", 60_008, 1, 1, 0, 1, 1) + os.urandom(1024))
                    held.append(sock)
                except OSError:
                    sock.close()
                    break
            time.sleep(5)
            for sock in held[:10]:
                sock.close()
            del held[:10]
            self.count("slow connections cycled", 10)
        return body

    def slow_watchers(self):
        held = []

        def body():
            while len(held) < 10:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                try:
                    sock.connect(self.socket)
                    payload = pb.WatchRequest().SerializeToString()
                    sock.sendall(struct.pack(">IBBBBI", 8 + len(payload), 1, 1, 0, 7, 1) + payload)
                    held.append(sock)
                except OSError:
                    sock.close()
                    break
            time.sleep(10)
            sock = held.pop(0)
            sock.close()
            self.count("slow watchers cycled")
        return body

    def reloads(self):
        state = {"n": 0}

        def body():
            time.sleep(self.args.reload_every)
            if not self.up.is_set():
                return
            self.extra_tenant = not self.extra_tenant
            self.write_config()
            state["n"] += 1
            if state["n"] % 2:
                try:
                    with jwksd.Client(self.socket, timeout=10) as client:
                        client.reload()
                    self.count("reloads by RPC")
                except jwksd.Error:
                    self.count("reloads by RPC during restart")
            else:
                try:
                    self.daemon.send_signal(signal.SIGHUP)
                    self.count("reloads by SIGHUP")
                except ProcessLookupError:
                    pass
        return body

    def sample(self):
        pid = self.daemon.pid
        try:
            with open(f"/proc/{pid}/status") as handle:
                rss = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, StopIteration):
            return
        self.samples.append((round(time.monotonic() - self.started, 1), self.lifetime, rss, fds))

    # -- the run -------------------------------------------------------------------------------------------

    def run(self):
        with open(os.path.join(self.work, "stable.json"), "w") as handle:
            handle.write(STABLE_KEYS)
        self.write_config()
        self.started = time.monotonic()
        self.start_daemon()
        threads = [self.loop(self.stable_lookups()) for _ in range(2)]
        threads += [self.loop(self.storm_lookups()) for _ in range(2)]
        threads += [self.loop(self.garbage, pause=0.05)]
        threads += [self.loop(self.slow_connections()), self.loop(self.slow_watchers()), self.loop(self.reloads())]
        next_restart = self.started + self.args.restart_every
        next_sample = self.started
        end = self.started + self.args.duration
        while time.monotonic() < end:
            now = time.monotonic()
            self.check_alive()
            if now >= next_sample:
                self.sample()
                next_sample += 5
            if now >= next_restart:
                self.sample()
                self.stop_daemon()
                self.start_daemon()
                next_restart += self.args.restart_every
            time.sleep(0.1)
        self.sample()
        self.stop.set()
        for thread in threads:
            thread.join(timeout=10)
        self.stop_daemon()
        return self.report()

    def report(self):
        with open(os.path.join(self.work, "soak.csv"), "w") as handle:
            handle.write("seconds,lifetime,rss_kb,fds\n")
            for row in self.samples:
                handle.write(",".join(map(str, row)) + "\n")
        peaks = {}
        for _, lifetime, rss, fds in self.samples:
            rss_peak, fd_peak = peaks.get(lifetime, (0, 0))
            peaks[lifetime] = (max(rss_peak, rss), max(fd_peak, fds))
        lifetimes = sorted(peaks)
        third = max(1, len(lifetimes) // 3)
        first = [peaks[n] for n in lifetimes[:third]]
        last = [peaks[n] for n in lifetimes[-third:]]
        rss_first, rss_last = max(p[0] for p in first), max(p[0] for p in last)
        fd_first, fd_last = max(p[1] for p in first), max(p[1] for p in last)
        problems = list(self.failures[:20]) + self.unexpected_exits
        if rss_last > rss_first * 1.25:
            problems.append(f"RSS grew: peak {rss_first} kB in the first third, {rss_last} kB in the last")
        if fd_last > fd_first + 64:
            problems.append(f"descriptors grew: peak {fd_first} in the first third, {fd_last} in the last")
        summary = {
            "duration_s": self.args.duration,
            "daemon_lifetimes": len(lifetimes),
            "restart_to_first_lookup_s": self.restarts,
            "counts": self.counts,
            "stable_lookup_failures": len(self.failures),
            "unexpected_exits": self.unexpected_exits,
            "rss_kb_peak_per_lifetime": [peaks[n][0] for n in lifetimes],
            "fds_peak_per_lifetime": [peaks[n][1] for n in lifetimes],
            "problems": problems,
        }
        print(json.dumps(summary, indent=2))
        return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--work", required=True)
    parser.add_argument("--jwksd", required=True)
    parser.add_argument("--issuer", required=True, help="the dev-issuer's base URL")
    parser.add_argument("--storm", type=int, default=200, help="storm providers (a multiple of 10)")
    parser.add_argument("--restart-every", type=float, default=60)
    parser.add_argument("--reload-every", type=float, default=4)
    return Soak(parser.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
