"""Account commands (midjourney-bot.md §3, §6.14–6.17, §13, §14): /info, /settings (+ its toggles and version
select), /fast, /relax, /turbo, /stealth, /private, /public, /prefer remix|suffix|variability|auto_dm|option.

/info and /settings: ephemeral placeholder (nonce, flags 192, empty) -> MESSAGE_UPDATE (flags 64).
/fast etc.: one ephemeral `Done! …` message with the nonce. /prefer: placeholder -> update, `interaction.name`
`"prefer <sub>"`. /settings ids (ours where MJ's are unverified): `MJ::Settings::VersionSelector` (values
`v7`, `v61`, `v60`, `v52`, `niji6`), `MJ::Settings::Style::raw`, `MJ::Settings::Stylize::{50,100,250,750}`,
`MJ::Settings::Visibility::{public,stealth}`, `MJ::Settings::RemixMode`,
`MJ::Settings::HighVariabilityMode::{1,0}`, `MJ::Settings::ResetSettings`,
`MJ::Settings::SpeedMode::{turbo,fast,relax}` (also `MJ::Settings::RelaxMode::on|off`)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from .bot import option
from .state import JsonDict, StoredMessage, User, UserSettings
from .world import Interaction

if TYPE_CHECKING:
    from .bot import MidjourneyBot

VERSIONS: list[tuple[str, str, str]] = [  # (opaque value, version, label)
    ("v7", "7", "Midjourney Model V7"),
    ("v61", "6.1", "Midjourney Model V6.1"),
    ("v60", "6", "Midjourney Model V6.0"),
    ("v52", "5.2", "Midjourney Model V5.2"),
    ("niji6", "niji 6", "Niji Model V6"),
]
STYLIZE = [(50, "Stylize low"), (100, "Stylize med"), (250, "Stylize high"), (750, "Stylize very high")]
DONE = {
    "fast": "Done! Your jobs will now run in Fast mode and use fast-hours.",
    "relax": "Done! Your jobs now do not cost fast-hours, but will take longer to run.",
    "turbo": "Done! Your jobs will now run in Turbo mode: faster, at twice the fast-hours cost.",
    "stealth": "Done! Your jobs are now in stealth mode and will not appear in the public gallery.",
    "public": "Done! Your jobs are now public and may appear in the gallery.",
}
REMIX_ON = "Remix mode turned on! Clicking the variation buttons will now give you a chance to edit your prompt!"
REMIX_OFF = "Remix mode turned off! Clicking the variation buttons will now vary without asking for a new prompt."


def _button(custom_id: str, label: str, on: bool) -> JsonDict:
    return {"type": 2, "style": 3 if on else 2, "custom_id": custom_id, "label": label}


class AccountCommands:
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.settings_messages: dict[str, str] = {}  # message id -> user id
        self.prefer_options: dict[str, dict[str, str]] = {}  # user id -> custom options
        cmds = bot.commands
        cmds["info"] = self.info
        cmds["settings"] = self.settings
        cmds["prefer"] = self.prefer
        for name in ("fast", "relax", "turbo"):
            cmds[name] = self._speed(name)
        cmds["stealth"] = cmds["private"] = self._visibility(True)
        cmds["public"] = self._visibility(False)
        bot.register_button(r"MJ::Settings::(.+)", self.settings_click)

    # --- /info -------------------------------------------------------------------------------------
    def info_description(self, user: User) -> str:
        cfg, s, st = self.bot.config, user.settings, user.stats
        renews = int(time.time()) + 30 * 86400
        remaining = max(0.0, self.bot.fast_remaining(user.id))
        total = cfg.fast_hours_total
        pct = 100 * remaining / total if total else 0.0
        fast = (f"{remaining:.2f}/{total} hours ({pct:.2f}%)" if remaining >= 1 or remaining == 0
                else f"{remaining * 60:.2f} minutes")
        jobs = [j for j in self.bot.jobs if j.user_id == user.id]
        queued_fast = sum(1 for j in jobs if j.status == "queued" and j.mode != "relax")
        queued_relax = sum(1 for j in jobs if j.status == "queued" and j.mode == "relax")
        running = [j.job_id for j in jobs if j.status == "running"]
        return "\n".join([
            f"**User ID**: {uuid.uuid5(uuid.NAMESPACE_URL, 'mj-user:' + user.id)}",
            f"**Subscription**: {cfg.info_subscription.format(renews=renews)}",
            f"**Job Mode**: {({'fast': 'Fast', 'relax': 'Relaxed', 'turbo': 'Turbo'})[s.mode]}",
            f"**Visibility Mode**: {'Stealth' if s.stealth else 'Public'}",
            f"**Fast Time Remaining**: {fast}",
            f"**Lifetime Usage**: {st.lifetime_images} images ({st.lifetime_hours:.2f} hours)",
            f"**Relaxed Usage**: {st.relaxed_images} images ({st.relaxed_hours:.2f} hours)",
            "",
            f"**Queued Jobs (fast)**: {queued_fast}",
            f"**Queued Jobs (relax)**: {queued_relax}",
            f"**Running Jobs**: {', '.join(running) if running else 'None'}",
        ])

    def info(self, inter: Interaction) -> None:
        user = self.bot.user(inter.user_id)
        message = self.bot.defer(inter, ephemeral=True, name="info")
        embed = {"type": "rich", "title": f"Your info - {user.username}", "color": 0,
                 "description": self.info_description(user)}
        self.bot.finish_deferred(message, embeds=[embed])

    # --- /settings ---------------------------------------------------------------------------------
    def current_version(self, s: UserSettings) -> str:
        return s.version or self.bot.config.default_version

    def settings_content(self, s: UserSettings) -> str:
        version = self.current_version(s)
        parts = [f"--niji {version.split()[-1]}" if version.startswith("niji") else f"--v {version}"]
        if s.raw:
            parts.append("--style raw")
        if s.stylize is not None:
            parts.append(f"--s {s.stylize}")
        if s.suffix.strip():
            parts.append(s.suffix.strip())
        return f"Adjust your settings here. Current suffix: ` {' '.join(parts)}`"

    def settings_components(self, s: UserSettings) -> list[JsonDict]:
        current = self.current_version(s)
        variation = s.variation or self.bot.config.variation_label
        select: JsonDict = {
            "type": 3, "custom_id": "MJ::Settings::VersionSelector", "placeholder": "Select a version",
            "min_values": 1, "max_values": 1,
            "options": [{"label": label, "value": value, "default": version == current or
                         (version == "6" and current == "6.0")} for value, version, label in VERSIONS],
        }
        stylize = s.stylize if s.stylize is not None else 100
        rows: list[list[JsonDict]] = [
            [select],
            [_button("MJ::Settings::Style::raw", "RAW Mode", s.raw),
             *(_button(f"MJ::Settings::Stylize::{v}", label, stylize == v) for v, label in STYLIZE)],
            [_button("MJ::Settings::Visibility::public", "Public mode", not s.stealth),
             _button("MJ::Settings::Visibility::stealth", "Stealth mode", s.stealth),
             _button("MJ::Settings::RemixMode", "Remix mode", s.remix),
             _button("MJ::Settings::HighVariabilityMode::1", "High Variation Mode", variation == "strong"),
             _button("MJ::Settings::HighVariabilityMode::0", "Low Variation Mode", variation == "subtle")],
            [_button("MJ::Settings::SpeedMode::turbo", "Turbo mode", s.mode == "turbo"),
             _button("MJ::Settings::SpeedMode::fast", "Fast mode", s.mode == "fast"),
             _button("MJ::Settings::SpeedMode::relax", "Relax mode", s.mode == "relax")],
            [_button("MJ::Settings::ResetSettings", "Reset Settings", False)],
        ]
        return [{"type": 1, "components": row} for row in rows]

    def settings(self, inter: Interaction) -> None:
        s = self.bot.user(inter.user_id).settings
        message = self.bot.defer(inter, ephemeral=True, name="settings")
        self.settings_messages[message.id] = inter.user_id
        self.bot.finish_deferred(message, content=self.settings_content(s), components=self.settings_components(s))

    def settings_click(self, inter: Interaction, m: re.Match[str]) -> None:
        user = self.bot.user(inter.user_id)
        message = self.bot.world.state.find_message(inter.channel_id, inter.message_id or "")
        if message is None or self.settings_messages.get(message.id) != inter.user_id:
            self.bot.world.fail(inter, 1)
            return
        s, what = user.settings, m[1]
        if what == "VersionSelector":
            values = inter.data.get("values") or []
            chosen = next((v for value, v, _ in VERSIONS if values and value == values[0]), None)
            if chosen is None:
                self.bot.world.fail(inter, 1)
                return
            s.version = chosen
        elif what == "RemixMode":
            s.remix = not s.remix
        elif what == "Style::raw":
            s.raw = not s.raw
        elif what.startswith("Stylize::"):
            value = int(what.split("::")[1])
            s.stylize = None if value == 100 else value
        elif what.startswith("HighVariabilityMode::"):
            s.variation = "strong" if what.endswith("1") else "subtle"
        elif what.startswith("Visibility::"):
            s.stealth = what.endswith("stealth")
        elif what.startswith("SpeedMode::"):
            s.mode = what.split("::")[1]  # type: ignore[assignment]
        elif what.startswith("RelaxMode::"):
            s.mode = "relax" if what.endswith("on") else "fast"
        elif what == "ResetSettings":
            user.settings = s = UserSettings()
        else:
            self.bot.world.fail(inter, 1)
            return
        self.bot.world.ack(inter)
        self._refresh(message, s)

    def _refresh(self, message: StoredMessage, s: UserSettings) -> None:
        self.bot.world.update_message(message, content=self.settings_content(s),
                                      components=self.settings_components(s))

    # --- /fast /relax /turbo /stealth /public ------------------------------------------------------
    def _speed(self, mode: str) -> Callable[[Interaction], None]:
        def handler(inter: Interaction) -> None:
            self.bot.user(inter.user_id).settings.mode = mode  # type: ignore[assignment]
            self.bot.ephemeral_reply(inter, DONE[mode], two_step=False)

        return handler

    def _visibility(self, stealth: bool) -> Callable[[Interaction], None]:
        def handler(inter: Interaction) -> None:
            self.bot.user(inter.user_id).settings.stealth = stealth
            self.bot.ephemeral_reply(inter, DONE["stealth" if stealth else "public"], two_step=False)

        return handler

    # --- /prefer -----------------------------------------------------------------------------------
    def prefer(self, inter: Interaction) -> None:
        s = self.bot.user(inter.user_id).settings
        sub = next((o for o in inter.data.get("options") or [] if isinstance(o, dict)), None)
        name = str(sub.get("name")) if sub else ""
        sub_data: JsonDict = sub or {}
        if name == "remix":
            s.remix = not s.remix
            text = REMIX_ON if s.remix else REMIX_OFF
        elif name == "suffix":
            value = str(option(sub_data, "new_value") or "").strip()
            s.suffix = value
            text = f"Custom suffix saved: `{value}`" if value else "Custom suffix removed."
        elif name == "variability":
            current = s.variation or self.bot.config.variation_label
            s.variation = "subtle" if current == "strong" else "strong"
            text = ("High variation mode turned on! Variations will be more varied." if s.variation == "strong"
                    else "Low variation mode turned on! Variations will be more subtle.")
        elif name == "auto_dm":
            text = "Auto DM turned on! Completed jobs will be sent to your DMs."
        elif name == "option":
            text = self._prefer_option(inter.user_id, sub_data)
        else:
            self.bot.world.fail(inter, 1)
            return
        full = f"prefer {name}" if name != "option" else "prefer option " + str(
            next((o.get("name") for o in sub_data.get("options") or [] if isinstance(o, dict)), ""))
        self.bot.ephemeral_reply(inter, text, name=full.strip())

    def _prefer_option(self, user_id: str, sub: JsonDict) -> str:
        inner = next((o for o in sub.get("options") or [] if isinstance(o, dict)), {})
        store = self.prefer_options.setdefault(user_id, {})
        if inner.get("name") == "set":
            key = str(option(inner, "option") or "").strip()
            value = str(option(inner, "value") or "").strip()
            if value:
                store[key] = value
                return f"Custom option **{key}** set to `{value}`"
            store.pop(key, None)
            return f"Custom option **{key}** deleted"
        return "\n".join(f"**{k}**: `{v}`" for k, v in store.items()) or "You have no custom options."

