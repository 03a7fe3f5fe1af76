"""The /settings message read into data: remix on or off, the model version, every toggle."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SELECT = 3
BUTTON = 2
STYLE_ON = 3  # green: Midjourney shows an enabled toggle in the SUCCESS style

_SUFFIX = re.compile(r"Current suffix:\s*`\s*(?P<suffix>[^`]*)`")


@dataclass(frozen=True, slots=True)
class SettingsToggle:
    label: str
    custom_id: str
    on: bool


@dataclass(frozen=True, slots=True)
class SettingsView:
    message_id: str
    message_flags: int
    toggles: tuple[SettingsToggle, ...] = ()
    version: str | None = None  # label of the selected model version
    version_values: dict[str, str] = field(default_factory=dict)  # label → opaque option value
    version_select_id: str | None = None
    suffix: str | None = None

    @property
    def remix(self) -> bool | None:
        for toggle in self.toggles:
            if toggle.custom_id == "MJ::Settings::RemixMode" or toggle.label.lower().startswith("remix"):
                return toggle.on
        return None

    def toggle(self, label_or_id: str) -> SettingsToggle | None:
        wanted = label_or_id.lower()
        for toggle in self.toggles:
            if toggle.custom_id == label_or_id or toggle.label.lower() == wanted:
                return toggle
        return None

    def to_json(self) -> dict[str, Any]:
        return {"remix": self.remix, "version": self.version, "suffix": self.suffix,
                "versions": list(self.version_values),
                "toggles": [{"label": t.label, "customId": t.custom_id, "on": t.on} for t in self.toggles]}


def parse_settings_message(message: Mapping[str, Any]) -> SettingsView:
    toggles: list[SettingsToggle] = []
    version: str | None = None
    values: dict[str, str] = {}
    select_id: str | None = None
    for row in message.get("components") or []:
        for component in (row or {}).get("components") or []:
            if not isinstance(component, Mapping):
                continue
            if component.get("type") == SELECT:
                select_id = str(component.get("custom_id") or "") or None
                for option in component.get("options") or []:
                    label = str(option.get("label") or option.get("value") or "")
                    values[label] = str(option.get("value") or "")
                    if option.get("default"):
                        version = label
            elif component.get("type") == BUTTON and component.get("custom_id"):
                emoji = component.get("emoji") or {}
                label = str(component.get("label") or (emoji.get("name") if isinstance(emoji, Mapping) else "") or "")
                toggles.append(SettingsToggle(label, str(component["custom_id"]),
                                              component.get("style") == STYLE_ON))
    suffix_match = _SUFFIX.search(str(message.get("content") or ""))
    return SettingsView(message_id=str(message.get("id") or ""), message_flags=int(message.get("flags") or 0),
                        toggles=tuple(toggles), version=version, version_values=values,
                        version_select_id=select_id,
                        suffix=suffix_match.group("suffix").strip() if suffix_match else None)
