"""What ``Client`` and ``AsyncClient`` share that is not a request: the server's address and the key."""

from __future__ import annotations

from .. import __version__
from . import calls
from .calls import Call

DEFAULT_TIMEOUT = 30.0
FIRST_POLL = 0.1  # seconds before the first poll when wait() polls; it then grows to poll_interval


class ClientBase:
    def __init__(self, url: str, key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.headers = {"User-Agent": f"mjproxy-client/{__version__}"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    def __repr__(self) -> str:  # never the key
        return f"{type(self).__name__}({self.url!r})"

    def download_call(self, url: str) -> Call[bytes]:
        return calls.download(url, self.url)
