"""Wires every feature module into the bot's registries (one place, so bot.py stays the lifecycle only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .account_commands import AccountCommands
from .actions import Actions
from .blend import Blend
from .describe import Describe
from .inpaint import Inpaint
from .insightface import InsightFace
from .modals import Modals
from .seed import Seed
from .shorten import Shorten

if TYPE_CHECKING:
    from .bot import MidjourneyBot


@dataclass
class Features:
    actions: Actions
    modals: Modals
    inpaint: Inpaint
    describe: Describe
    shorten: Shorten
    blend: Blend
    account: AccountCommands
    seed: Seed
    insightface: InsightFace


def install(bot: MidjourneyBot) -> Features:
    actions = Actions(bot)
    return Features(
        actions=actions,
        modals=Modals(bot, actions),
        inpaint=Inpaint(bot),
        describe=Describe(bot),
        shorten=Shorten(bot),
        blend=Blend(bot),
        account=AccountCommands(bot),
        seed=Seed(bot),
        insightface=InsightFace(bot),
    )
