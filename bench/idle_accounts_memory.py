"""(f) Resident memory of mjproxy with 200 idle, connected accounts. Target: < 300 MB.

The emulator runs in its own process with 200 accounts (default heartbeat interval, 41.25 s). ``mjproxy
serve`` runs as a second process configured with those 200 accounts and no /info sync on connect; once
/healthz shows all 200 ready, it settles for 10 s, then its VmRSS is sampled five times over 5 s.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from _common import MJPROXY, free_port, rss_mb, serve, stop

HEADER = """
[server]
port = @PORT@
[logging]
level = "WARNING"
[sandbox]
enabled = "never"
[discord]
api_base = "{base}"
gateway_url = "{gateway}"
sync_on_connect = false
"""

ACCOUNT = """
[[accounts]]
name = "idle{n}"
guild_id = "{guild_id}"
channel_id = "{channel_id}"
user_token = "{token}"
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--settle", type=float, default=10)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen([MJPROXY, "emulator", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(200):
                try:
                    client.get("/_emulator/state").raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            accounts = [client.post("/_emulator/accounts", json={"username": f"idle{n}"}).json()
                        for n in range(args.accounts)]
        config = HEADER.format(base=base, gateway=f"ws://127.0.0.1:{port}") + "".join(
            ACCOUNT.format(n=n, **account) for n, account in enumerate(accounts))
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            process, proxy = serve(config, Path(tmp), ready_timeout=300)
            ready_after = time.monotonic() - started
            try:
                health = httpx.get(f"{proxy}/healthz", timeout=10).json()
                ready = sum(a["state"] == "ready" for a in health["accounts"])
                time.sleep(args.settle)  # settle: every gateway connected and heartbeating
                readings = []
                for _ in range(5):
                    readings.append(rss_mb(process.pid))
                    time.sleep(1)
                emulator_rss = rss_mb(emulator.pid)
            finally:
                stop(process)
    finally:
        emulator.terminate()
        emulator.wait(10)
    print(f"{ready} of {args.accounts} accounts ready {ready_after:.1f} s after start")
    print(f"proxy RSS with {args.accounts} idle accounts: {max(readings):.1f} MB (min {min(readings):.1f}) "
          f"— target < 300 MB; {max(readings) / args.accounts * 1000:.0f} kB per account incl. the base "
          f"(emulator: {emulator_rss:.0f} MB)")


if __name__ == "__main__":
    main()
