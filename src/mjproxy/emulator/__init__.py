"""Faithful Discord (REST + gateway + CDN) and Midjourney-bot emulator: the sandbox and the test bed.

Must not import mjproxy.discord / mjproxy.midjourney / mjproxy.engine (DESIGN.md: a misunderstanding must
not hide on both sides)."""

from .bot import Job, MidjourneyBot
from .config import EmulatorConfig
from .server import Emulator, SandboxAccount, run_standalone
from .state import MJ_BOT_ID, NIJI_BOT_ID, UserSettings

__all__ = [
    "MJ_BOT_ID",
    "NIJI_BOT_ID",
    "Emulator",
    "EmulatorConfig",
    "Job",
    "MidjourneyBot",
    "SandboxAccount",
    "UserSettings",
    "run_standalone",
]
