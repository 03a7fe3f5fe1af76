"""``compress=zlib-stream``: one deflate stream per connection, each payload ends in ``00 00 FF FF``."""

from __future__ import annotations

import zlib
from typing import Final

ZLIB_SUFFIX: Final = b"\x00\x00\xff\xff"


class ZlibStreamInflater:
    """Collect binary frames; inflate only once a whole payload (the sync-flush suffix) has arrived.

    The inflate context lives as long as the connection: the server never resets its dictionary, so
    a fresh context per payload would fail on the second one. Create one instance per connection.
    """

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj()
        self._buffer = bytearray()

    def feed(self, frame: bytes) -> str | None:
        """Add a frame; return the decoded payload text when complete, else ``None``."""
        self._buffer.extend(frame)
        if len(self._buffer) < 4 or self._buffer[-4:] != ZLIB_SUFFIX:
            return None
        data = self._inflater.decompress(bytes(self._buffer))
        self._buffer.clear()
        return data.decode("utf-8")
