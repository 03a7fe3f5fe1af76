"""The operator's commands on one account: /info and /settings read into a profile, /fast /relax /turbo,
/prefer remix, the /settings toggles and model version, and a job's seed through /show and ✉️.

Account commands run one at a time: two overlapping /info reads could land out of order and leave an older
answer in place of a newer one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import payloads
from ..constants import MIDJOURNEY_APP_ID
from ..errors import SubmitError
from ..events import JobFailed
from ..messages import AccountInfo, extract_keys, parse_account_info, parse_message, parse_remix_toggle, parse_seed_dm
from ..settings import SettingsView, parse_settings_message
from ..watch import Watch, Watchers
from .inbound import Inbound
from .sender import Sender, next_event


class OperatorCommands:
    def __init__(self, sender: Sender, watchers: Watchers, inbound: Inbound, *, flow_timeout: float) -> None:
        self._sender = sender
        self._watchers = watchers
        self._inbound = inbound
        self._flow_timeout = flow_timeout
        self.lock = asyncio.Lock()
        self.info: AccountInfo | None = None
        self.settings: SettingsView | None = None

    async def _next(self, watch: Watch, what: str) -> tuple[str, dict[str, Any]]:
        return await next_event(watch, what, self._flow_timeout)

    async def run_command(self, name: str, options: list[dict[str, Any]] | None = None, *,
                          application_id: str = MIDJOURNEY_APP_ID, channel_id: str | None = None) -> dict[str, Any]:
        """Run a command whose answer is a (usually ephemeral) message and return that message."""
        await self._sender.ensure_ready()
        sent: list[str] = []
        message_ids: set[str] = set()

        def answer(event: str, data: dict[str, Any]) -> bool:
            if not sent:
                return False
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
                if data.get("nonce") == sent[0]:
                    # Learn the placeholder's id as it is dispatched: its update may follow in the same tick,
                    # before this flow has read the placeholder from its queue.
                    message_ids.add(str(data.get("id")))
                    return True
                return str(data.get("id")) in message_ids
            return event == "INTERACTION_FAILURE" and data.get("nonce") == sent[0]

        async def remember(nonce: str) -> None:
            sent[:] = [nonce]

        async with self._watchers.watch(answer) as watch:
            await self._sender.send_slash(name, options or [], remember, application_id=application_id,
                                          channel_id=channel_id)
            while True:
                event, data = await self._next(watch, f"the answer to /{name}")
                if event == "INTERACTION_FAILURE":
                    raise SubmitError(f"/{name} failed (reason {data.get('reason_code')})")
                loading = int(data.get("flags") or 0) & 128
                if not loading and (data.get("content") or data.get("embeds") or data.get("components")):
                    return data

    async def sync(self) -> dict[str, Any]:
        """Read /info and /settings into ``info`` and ``settings``."""
        async with self.lock:
            info_message = await self.run_command("info")
            embeds = info_message.get("embeds") or [{}]
            self.info = parse_account_info(str(embeds[0].get("description") or ""))
            self.settings = parse_settings_message(await self.run_command("settings"))
            return self.profile()

    def profile(self) -> dict[str, Any]:
        info = self.info
        return {
            "info": None if info is None else {
                "subscription": info.subscription, "jobMode": info.job_mode.value if info.job_mode else None,
                "visibility": info.visibility, "fastTimeRemainingHours": info.fast_time_remaining_hours,
                "queuedFast": info.queued_fast, "queuedRelax": info.queued_relax, "runningJobs": info.running_jobs,
            },
            "settings": None if self.settings is None else self.settings.to_json(),
            "remix": self.remix,
        }

    @property
    def remix(self) -> bool:
        return bool(self.settings and self.settings.remix)

    async def set_mode(self, mode: str) -> str:
        """/fast, /relax or /turbo; returns the bot's answer."""
        if mode not in ("fast", "relax", "turbo"):
            raise ValueError(f"unknown speed mode {mode!r}")
        async with self.lock:
            message = await self.run_command(mode)
        return str(message.get("content") or "")

    async def toggle_remix(self) -> bool | None:
        """/prefer remix; returns the new remix state when the bot says it."""
        async with self.lock:
            message = await self.run_command("prefer", [{"type": 1, "name": "remix", "options": []}])
            state = parse_remix_toggle(str(message.get("content") or ""))
            if state is not None and self.settings is not None:
                self.settings = await self._refresh_settings()
        return state

    async def _refresh_settings(self) -> SettingsView:
        return parse_settings_message(await self.run_command("settings"))

    async def click_setting(self, label_or_custom_id: str) -> dict[str, Any]:
        """Click a /settings toggle (by label or custom id); returns the settings as they are afterwards."""
        async with self.lock:
            return await self._click_setting(label_or_custom_id)

    async def _click_setting(self, label_or_custom_id: str) -> dict[str, Any]:
        view = await self._refresh_settings()
        toggle = view.toggle(label_or_custom_id)
        if toggle is None:
            raise SubmitError(f"/settings has no button {label_or_custom_id!r}; "
                              f"it has: {', '.join(t.label for t in view.toggles)}")
        account = self._sender.spec
        payload = payloads.button(guild_id=account.guild_id, channel_id=account.channel_id,
                                  message_id=view.message_id, message_flags=view.message_flags,
                                  custom_id=toggle.custom_id, session_id=self._sender.session_id(),
                                  nonce=await self._sender.fresh_nonce(), application_id=MIDJOURNEY_APP_ID)
        self.settings = await self._settings_after(view, payload)
        return self.settings.to_json()

    async def change_version(self, version: str) -> dict[str, Any]:
        """Choose a model version in /settings, by its label or its option value."""
        async with self.lock:
            return await self._change_version(version)

    async def _change_version(self, version: str) -> dict[str, Any]:
        view = await self._refresh_settings()
        value = view.version_values.get(version) or next(
            (v for label, v in view.version_values.items() if v == version or version.lower() in label.lower()), None)
        if value is None or view.version_select_id is None:
            raise SubmitError(f"/settings offers no version {version!r}; it has: {', '.join(view.version_values)}")
        account = self._sender.spec
        payload = payloads.select(guild_id=account.guild_id, channel_id=account.channel_id,
                                  message_id=view.message_id, message_flags=view.message_flags,
                                  custom_id=view.version_select_id, values=[value],
                                  session_id=self._sender.session_id(),
                                  nonce=await self._sender.fresh_nonce(), application_id=MIDJOURNEY_APP_ID)
        self.settings = await self._settings_after(view, payload)
        return self.settings.to_json()

    async def _settings_after(self, view: SettingsView, payload: dict[str, Any]) -> SettingsView:
        """Send a click on the settings message and read the message as the bot restyles it."""
        def updated(event: str, data: dict[str, Any]) -> bool:
            return (event == "MESSAGE_UPDATE" and str(data.get("id")) == view.message_id) or (
                event == "INTERACTION_FAILURE" and data.get("nonce") == payload["nonce"])

        async with self._watchers.watch(updated) as watch:
            await self._sender.call(self._sender.post_interaction(payload))
            event, data = await self._next(watch, "/settings to update")
        if event == "INTERACTION_FAILURE":
            raise SubmitError("Midjourney refused the /settings click")
        return parse_settings_message(data)

    # -- seed --------------------------------------------------------------------------------------
    async def dm_channel(self) -> str:
        """The DM channel with the Midjourney bot: from READY, else the DM list, else opened now."""
        if self._inbound.dm_channel_id:
            return self._inbound.dm_channel_id
        channels = await self._sender.call(self._sender.rest.get_dm_channels())
        for channel in channels:
            if any(str(r.get("id")) == MIDJOURNEY_APP_ID for r in channel.get("recipients") or []):
                self._inbound.dm_channel_id = str(channel["id"])
                return self._inbound.dm_channel_id
        channel = await self._sender.call(self._sender.rest.create_dm(MIDJOURNEY_APP_ID))
        self._inbound.dm_channel_id = str(channel["id"])
        return self._inbound.dm_channel_id

    async def fetch_seed(self, job_hash: str) -> str:
        """/show the job in the DM with the bot, react ✉️, and read the seed from the bot's DM."""
        await self._sender.ensure_ready()
        dm = await self.dm_channel()

        def in_dm(event: str, data: dict[str, Any]) -> bool:
            return event == "MESSAGE_CREATE" and str(data.get("channel_id")) == dm

        async with self._watchers.watch(in_dm) as watch:
            await self.run_command("show", [payloads.string_option("job_id", job_hash)], channel_id=dm)
            shown: str | None = None
            while True:
                _, data = await self._next(watch, "the seed from the Midjourney bot")
                keys = extract_keys(data)
                if shown is None and keys.job_hash == job_hash:
                    shown = str(data["id"])
                    await self._sender.call(self._sender.rest.add_reaction(dm, shown, "✉️"))
                    continue
                seed = parse_seed_dm(str(data.get("content") or ""))
                if seed is not None and seed[0] == job_hash:
                    return seed[1]
                event = parse_message(data)
                if isinstance(event, JobFailed):
                    raise SubmitError(f"/show failed: {event.reason}")


