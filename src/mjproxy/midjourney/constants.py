"""Fixed facts about the Midjourney bots (``midjourney-bot.md`` §1, §15, §17).

Only things that do not change on a redeploy live here: application ids, embed colours, emoji.
Command ids and versions DO change and are discovered at runtime (DESIGN invariant 8), so they are
deliberately absent.
"""

from __future__ import annotations

from typing import Final

from ..domain.task import BotType

# Application id == bot user id for each bot (§1).
MIDJOURNEY_APPLICATION_ID: Final = "936929561302675456"
NIJI_APPLICATION_ID: Final = "1022952195194359889"
INSIGHTFACE_APPLICATION_ID: Final = "1090660574196674713"

# Short aliases (used by the account runtime).
MIDJOURNEY_APP_ID: Final = MIDJOURNEY_APPLICATION_ID
NIJI_APP_ID: Final = NIJI_APPLICATION_ID
INSIGHTFACE_APP_ID: Final = INSIGHTFACE_APPLICATION_ID

APPLICATION_IDS: Final[dict[BotType, str]] = {
    BotType.MID_JOURNEY: MIDJOURNEY_APPLICATION_ID,
    BotType.NIJI_JOURNEY: NIJI_APPLICATION_ID,
    BotType.INSIGHT_FACE: INSIGHTFACE_APPLICATION_ID,
}
BOT_TYPE_BY_APPLICATION_ID: Final[dict[str, BotType]] = {v: k for k, v in APPLICATION_IDS.items()}

# Host of the activity iframes (Vary Region editor, captcha); §4.4 and §12.
ACTIVITY_HOST: Final = f"https://{MIDJOURNEY_APPLICATION_ID}.discordsays.com"

# Midjourney's own CDN: https://cdn.midjourney.com/<uuid>/0_<i>.png serves grid image i (§10).
MIDJOURNEY_CDN: Final = "https://cdn.midjourney.com"
MIDJOURNEY_JOB_URL: Final = "https://midjourney.com/jobs/{job_hash}"

# Embed colours (§17).
COLOR_RED: Final = 0xFF0000  # 16711680: error
COLOR_YELLOW: Final = 0xFFFF00  # 16776960: warning
COLOR_WARNING_ORANGE: Final = 0xF7CB73  # 16239475: warning (one proxy only logs these)
COLOR_GREEN: Final = 0x00FF00  # 65280: success
WARNING_COLORS: Final = frozenset({COLOR_YELLOW, COLOR_WARNING_ORANGE})

# Keycap emoji (digit + U+FE0F VARIATION SELECTOR-16 + U+20E3 COMBINING ENCLOSING KEYCAP) prefix each
# describe / shorten option (§15). KEYCAP_SUFFIX is what tells a keycap apart from a plain digit.
KEYCAP_SUFFIX: Final = "\ufe0f\u20e3"
KEYCAPS: Final[tuple[str, ...]] = tuple(f"{digit}{KEYCAP_SUFFIX}" for digit in "0123456789")

# Unicode emoji on Midjourney's buttons (§11).
EMOJI_REROLL: Final = "🔄"
EMOJI_VARY: Final = "🪄"
EMOJI_ZOOM: Final = "🔍"
EMOJI_REGION: Final = "🖌️"
EMOJI_BOOKMARK: Final = "❤️"
EMOJI_IMAGINE_ALL: Final = "🎉"
EMOJI_PAN: Final[dict[str, str]] = {"left": "⬅️", "right": "➡️", "up": "⬆️", "down": "⬇️"}
EMOJI_SEED_ENVELOPE: Final = "✉️"

# Discord flag bits that matter for bot messages (discord.md §1.1).
FLAG_EPHEMERAL: Final = 1 << 6
FLAG_LOADING: Final = 1 << 7
