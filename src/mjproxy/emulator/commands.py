"""The Midjourney command catalogue, loaded from the packaged snapshot, with simulated redeploys."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from .snowflake import Snowflakes
from .state import INSIGHTFACE_BOT_ID, MJ_BOT_ID, NIJI_BOT_ID, JsonDict

NIJI_IMAGINE_ID = "1023054140580057099"
NIJI_IMAGINE_VERSION = "1248805223892254774"
# niji's other commands: only /imagine's identity is known (midjourney-bot.md §1); these ids are ours.
NIJI_COMMAND_IDS: dict[str, tuple[str, str]] = {
    "imagine": (NIJI_IMAGINE_ID, NIJI_IMAGINE_VERSION),
    "describe": ("1092492867185950853", "1248805223892254775"),
    "blend": ("1062880104792997971", "1248805223892254776"),
    "shorten": ("1121575372539039775", "1248805223892254777"),
    "info": ("1023054140580057100", "1248805223892254778"),
    "settings": ("1023054140580057101", "1248805223892254779"),
    "fast": ("1023054140580057102", "1248805223892254780"),
    "relax": ("1023054140580057103", "1248805223892254781"),
    "show": ("1023054140580057104", "1248805223892254782"),
}
MJ_DESCRIBE_ID = "1092492867185950852"  # also the ephemeral-attachments path segment of describe inputs (§5)

SAVEID_ID, SWAPID_ID = "1108457891245310012", "1108457891245310013"


def _insightface_commands() -> list[JsonDict]:
    def opt(kind: int, name: str, desc: str) -> JsonDict:
        return {"type": kind, "name": name, "description": desc, "required": True}

    base: JsonDict = {"type": 1, "application_id": INSIGHTFACE_BOT_ID, "dm_permission": True,
                      "contexts": [0, 1, 2], "integration_types": [0]}
    return [
        {**base, "id": SAVEID_ID, "version": "1236512378924412938", "name": "saveid",
         "description": "Save a face as an idname", "global_popularity_rank": 1,
         "options": [opt(3, "idname", "Name of the face (letters and digits)"), opt(11, "image", "Face image")]},
        {**base, "id": SWAPID_ID, "version": "1236512378924412939", "name": "swapid",
         "description": "Swap a saved face into an image", "global_popularity_rank": 2,
         "options": [opt(3, "idname", "A saved idname"), opt(11, "image", "Target image")]},
    ]

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
    INSIGHTFACE_BOT_ID: {
        "id": INSIGHTFACE_BOT_ID,
        "name": "InsightFaceSwap",
        "description": "Face swap with saved identities (/saveid, /swapid)",
        "icon": "2a3b4c5d6e7f8091a2b3c4d5e6f70819",
        "bot_id": INSIGHTFACE_BOT_ID,
        "flags": 8192,
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
        self.commands: dict[str, dict[str, JsonDict]] = {MJ_BOT_ID: {}, NIJI_BOT_ID: {}, INSIGHTFACE_BOT_ID: {}}
        for cmd in snapshot["application_commands"]:
            self.commands[MJ_BOT_ID][cmd["name"]] = cmd
        # niji shares the MJ formats and option shapes.
        for name, (cid, version) in NIJI_COMMAND_IDS.items():
            niji = copy.deepcopy(self.commands[MJ_BOT_ID][name])
            niji.update(id=cid, version=version, application_id=NIJI_BOT_ID)
            self.commands[NIJI_BOT_ID][name] = niji
        for cmd in _insightface_commands():
            self.commands[INSIGHTFACE_BOT_ID][cmd["name"]] = cmd

    def get(self, application_id: str, name: str) -> JsonDict | None:
        return self.commands.get(application_id, {}).get(name)

    def command_id(self, application_id: str, name: str) -> str:
        cmd = self.get(application_id, name)
        return str(cmd["id"]) if cmd else MJ_DESCRIBE_ID

    def bump(self) -> None:
        for cmds in self.commands.values():
            for cmd in cmds.values():
                cmd["version"] = self._snowflakes.next()
        self.version = self._snowflakes.next()

    def all_commands(self) -> list[JsonDict]:
        return [copy.deepcopy(c) for cmds in self.commands.values() for c in cmds.values()]

    def index(self, applications: list[str] | None = None) -> JsonDict:
        """Response of the `application-command-index` routes (discord.md §4.4); `applications` limits it to
        those bots (None = every bot)."""
        def wanted(app_id: str) -> bool:
            return applications is None or app_id in applications

        return {
            "applications": [copy.deepcopy(a) for a in APPLICATIONS.values() if wanted(a["id"])],
            "application_commands": [c for c in self.all_commands() if wanted(c["application_id"])],
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
