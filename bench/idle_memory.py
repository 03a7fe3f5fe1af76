"""(c) Resident memory of an idle mjproxy server with the embedded sandbox. Target: < 150 MB."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import rss_mb, serve, stop

CONFIG = """
[server]
port = @PORT@
[logging]
level = "WARNING"
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        process, _ = serve(CONFIG, Path(tmp))
        try:
            time.sleep(5)  # settle: gateway connected, heartbeats flowing
            readings = []
            for _ in range(5):
                readings.append(rss_mb(process.pid))
                time.sleep(1)
        finally:
            stop(process)
    print(f"idle RSS with embedded sandbox: {max(readings):.1f} MB (min {min(readings):.1f}) — target < 150 MB")


if __name__ == "__main__":
    main()
