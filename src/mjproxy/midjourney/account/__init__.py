"""The per-account runtime, one module per job: ``inbound`` (which gateway traffic is ours), ``sender``
(nonce first), ``flows`` (what a task asks for), ``commands`` (the operator's commands) and ``runtime``
(the account itself, tying them together)."""

from .runtime import AccountRuntime
from .spec import (
    AccountSpec,
    DiscordEndpoints,
    EventSink,
    GatewaySessions,
    NonceAssigner,
    StateListener,
    load_command_snapshot,
)

__all__ = ["AccountRuntime", "AccountSpec", "DiscordEndpoints", "EventSink", "GatewaySessions", "NonceAssigner",
           "StateListener", "load_command_snapshot"]
