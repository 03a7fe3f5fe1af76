"""Prometheus metrics: a subscriber of the event bus plus collectors read at scrape time.

Nothing here is on the request path: task transitions are counted by a bus subscriber (a dict update),
Discord REST calls by an observer the REST client calls, and everything that is a level (queue depth,
busy slots, account health, webhook backlog) is read from the live objects when ``/metrics`` is
scraped. Each runtime owns its own registry, so several runtimes in one process (tests) never mix.
"""

from .registry import Metrics

__all__ = ["Metrics"]
