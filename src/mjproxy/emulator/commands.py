"""The Midjourney command catalogue, loaded from the packaged snapshot, with simulated redeploys."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from .snowflake import Snowflakes
from .state import MJ_BOT_ID, NIJI_BOT_ID, JsonDict

NIJI_IMAGINE_ID = "1023054140580057099"
NIJI_IMAGINE_VERSION = "1248805223892254774"

APPLICATIONS: dict[str, JsonDict] = {
    MJ_BOT_ID: {
        "id": MJ_BOT_ID,
        "name": "Midjourney Bot",
        "description": "Midjourney generative AI bot",
        "icon": "f6ce562a6b4979c4b1cbc5b436d3be76",
        "bot_id": MJ_BOT_ID,
        "flags": 2699264,
    },
    NIJI_BOT_ID: {
        "id": NIJI_BOT_ID,
        "name": "niji・journey Bot",
        "description": "niji・journey anime model",
        "icon": "4cb1d4b3b7c0fcbd3fc95d9d0e1ec2b5",
        "bot_id": NIJI_BOT_ID,
        "flags": 2699264,
    },
}


def _load_snapshot() -> JsonDict:
    text = resources.files("mjproxy.data").joinpath("mj_application_commands.json").read_text("utf-8")
    data: JsonDict = json.loads(text)
    return data


class CommandCatalogue:
    """Commands per application, keyed by name; `bump()` gives every command a new version (a redeploy)."""

    def __init__(self, snowflakes: Snowflakes) -> None:
        self._snowflakes = snowflakes
        snapshot = _load_snapshot()
        self.version: str = str(snapshot["version"])
        self.commands: dict[str, dict[str, JsonDict]] = {MJ_BOT_ID: {}, NIJI_BOT_ID: {}}
        for cmd in snapshot["application_commands"]:
            self.commands[MJ_BOT_ID][cmd["name"]] = cmd
        # niji shares the MJ formats; only /imagine's identity is known (midjourney-bot.md §1).
        imagine = copy.deepcopy(self.commands[MJ_BOT_ID]["imagine"])
        imagine.update(id=NIJI_IMAGINE_ID, version=NIJI_IMAGINE_VERSION, application_id=NIJI_BOT_ID)
        self.commands[NIJI_BOT_ID]["imagine"] = imagine

    def get(self, application_id: str, name: str) -> JsonDict | None:
        return self.commands.get(application_id, {}).get(name)

    def bump(self) -> None:
        for cmds in self.commands.values():
            for cmd in cmds.values():
                cmd["version"] = self._snowflakes.next()
        self.version = self._snowflakes.next()

    def all_commands(self) -> list[JsonDict]:
        return [copy.deepcopy(c) for cmds in self.commands.values() for c in cmds.values()]

    def index(self) -> JsonDict:
        """Response of the `application-command-index` routes (discord.md §4.4)."""
        return {
            "applications": [copy.deepcopy(a) for a in APPLICATIONS.values()],
            "application_commands": self.all_commands(),
            "version": self.version,
        }

    def search(self, query: str, limit: int, cmd_type: int | None) -> JsonDict:
        """Legacy `application-commands/search`: prefix match, exact name first, limit honoured."""
        q = query.lower()
        matches: list[Any] = [
            c
            for c in self.all_commands()
            if c["name"].lower().startswith(q) and (cmd_type is None or c.get("type") == cmd_type)
        ]
        matches.sort(key=lambda c: (c["name"].lower() != q, c.get("global_popularity_rank", 99), c["name"]))
        matches = matches[:limit]
        app_ids = {c["application_id"] for c in matches}
        return {
            "applications": [copy.deepcopy(a) for a in APPLICATIONS.values() if a["id"] in app_ids],
            "application_commands": matches,
            "cursor": {"previous": None, "next": None, "repaired": None},
        }
