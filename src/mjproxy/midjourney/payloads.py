"""Pure builders of ``POST /interactions`` bodies (``midjourney-bot.md`` §4, ``discord.md`` §4.2).

Command ids and versions are never hard-coded here: callers pass the command object discovered from the
application-command index (DESIGN invariant 8), and the builders copy ``id``/``version`` out of it. The
nonce is passed in too, because it must be stored on the task before the request is sent (invariant 2).
In a DM with the bot ``guild_id`` is None and the key is omitted, as Discord expects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .constants import MIDJOURNEY_APPLICATION_ID

INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_MODAL_SUBMIT = 5

OPTION_SUB_COMMAND = 1
OPTION_STRING = 3
OPTION_ATTACHMENT = 11

COMPONENT_ACTION_ROW = 1
COMPONENT_BUTTON = 2
COMPONENT_STRING_SELECT = 3
COMPONENT_TEXT_INPUT = 4

BLEND_DIMENSIONS = {"PORTRAIT": "--ar 2:3", "SQUARE": "--ar 1:1", "LANDSCAPE": "--ar 3:2"}


def _envelope(interaction_type: int, *, application_id: str, guild_id: str | None, channel_id: str,
              session_id: str, nonce: str, data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": interaction_type, "application_id": application_id}
    if guild_id:
        body["guild_id"] = guild_id
    body.update({"channel_id": channel_id, "session_id": session_id, "nonce": nonce, "data": data})
    return body


def string_option(name: str, value: str) -> dict[str, Any]:
    return {"type": OPTION_STRING, "name": name, "value": value}


def attachment_option(name: str, index: int) -> dict[str, Any]:
    """A type-11 option pointing at ``attachments[index]`` of the same payload."""
    return {"type": OPTION_ATTACHMENT, "name": name, "value": index}


def attachment_ref(index: int, filename: str, uploaded_filename: str) -> dict[str, Any]:
    """An entry of ``data.attachments``: a file already PUT to the upload URL (§5)."""
    return {"id": str(index), "filename": filename, "uploaded_filename": uploaded_filename}


def slash_command(command: Mapping[str, Any], *, guild_id: str | None, channel_id: str, session_id: str,
                  nonce: str, options: Sequence[Mapping[str, Any]] = (),
                  attachments: Sequence[Mapping[str, Any]] = (),
                  application_id: str | None = None) -> dict[str, Any]:
    """A type-2 interaction for ``command`` (the full object from the command index).

    ``application_command`` carries the whole command object, as browsers and JS clients send it; the
    bot only needs ``id``/``version``, but sending it costs nothing and matches real traffic.
    """
    data: dict[str, Any] = {
        "version": str(command["version"]),
        "id": str(command["id"]),
        "name": str(command["name"]),
        "type": int(command.get("type") or 1),
        "options": [dict(option) for option in options],
        "application_command": dict(command),
        "attachments": [dict(attachment) for attachment in attachments],
    }
    app_id = application_id or str(command.get("application_id") or MIDJOURNEY_APPLICATION_ID)
    return _envelope(INTERACTION_APPLICATION_COMMAND, application_id=app_id, guild_id=guild_id,
                     channel_id=channel_id, session_id=session_id, nonce=nonce, data=data)


def imagine(command: Mapping[str, Any], prompt: str, *, guild_id: str | None, channel_id: str, session_id: str,
            nonce: str, application_id: str | None = None) -> dict[str, Any]:
    return slash_command(command, guild_id=guild_id, channel_id=channel_id, session_id=session_id, nonce=nonce,
                         options=[string_option("prompt", prompt)], application_id=application_id)


def shorten(command: Mapping[str, Any], prompt: str, *, guild_id: str | None, channel_id: str, session_id: str,
            nonce: str, application_id: str | None = None) -> dict[str, Any]:
    return slash_command(command, guild_id=guild_id, channel_id=channel_id, session_id=session_id, nonce=nonce,
                         options=[string_option("prompt", prompt)], application_id=application_id)


def describe_upload(command: Mapping[str, Any], *, filename: str, uploaded_filename: str, guild_id: str | None,
                    channel_id: str, session_id: str, nonce: str,
                    application_id: str | None = None) -> dict[str, Any]:
    """/describe of an uploaded file (``uploaded_filename`` from the upload slot, §5)."""
    return slash_command(command, guild_id=guild_id, channel_id=channel_id, session_id=session_id, nonce=nonce,
                         options=[attachment_option("image", 0)],
                         attachments=[attachment_ref(0, filename, uploaded_filename)],
                         application_id=application_id)


def describe_link(command: Mapping[str, Any], link: str, *, guild_id: str | None, channel_id: str,
                  session_id: str, nonce: str, application_id: str | None = None) -> dict[str, Any]:
    return slash_command(command, guild_id=guild_id, channel_id=channel_id, session_id=session_id, nonce=nonce,
                         options=[string_option("link", link)], application_id=application_id)


def blend(command: Mapping[str, Any], uploads: Sequence[tuple[str, str]], *, dimensions: str | None = None,
          guild_id: str | None, channel_id: str, session_id: str, nonce: str,
          application_id: str | None = None) -> dict[str, Any]:
    """/blend of 2–5 uploaded images; ``uploads`` = (filename, uploaded_filename) pairs.

    ``dimensions`` is either a choice value (``--ar 2:3``) or a midjourney-proxy name (PORTRAIT, SQUARE,
    LANDSCAPE).
    """
    if not 2 <= len(uploads) <= 5:
        raise ValueError("blend takes 2 to 5 images")
    options = [attachment_option(f"image{i + 1}", i) for i in range(len(uploads))]
    if dimensions:
        options.append(string_option("dimensions", BLEND_DIMENSIONS.get(dimensions.upper(), dimensions)))
    attachments = [attachment_ref(i, name, uploaded) for i, (name, uploaded) in enumerate(uploads)]
    return slash_command(command, guild_id=guild_id, channel_id=channel_id, session_id=session_id, nonce=nonce,
                         options=options, attachments=attachments, application_id=application_id)


def show(command: Mapping[str, Any], job_id: str, *, guild_id: str | None, channel_id: str, session_id: str,
         nonce: str, application_id: str | None = None) -> dict[str, Any]:
    return slash_command(command, guild_id=guild_id, channel_id=channel_id, session_id=session_id, nonce=nonce,
                         options=[string_option("job_id", job_id)], application_id=application_id)


def prefer_remix(command: Mapping[str, Any], *, guild_id: str | None, channel_id: str, session_id: str,
                 nonce: str, application_id: str | None = None) -> dict[str, Any]:
    """``/prefer remix`` toggles remix mode (the command object is ``prefer``)."""
    option = {"type": OPTION_SUB_COMMAND, "name": "remix", "options": []}
    return slash_command(command, guild_id=guild_id, channel_id=channel_id, session_id=session_id, nonce=nonce,
                         options=[option], application_id=application_id)


def message_command(command: Mapping[str, Any], target_id: str, *, guild_id: str | None, channel_id: str,
                    session_id: str, nonce: str, application_id: str | None = None) -> dict[str, Any]:
    """A message context-menu command (type 3, e.g. "Cancel Job") aimed at ``target_id``."""
    body = slash_command(command, guild_id=guild_id, channel_id=channel_id, session_id=session_id, nonce=nonce,
                         application_id=application_id)
    body["data"]["type"] = int(command.get("type") or 3)
    body["data"]["target_id"] = target_id
    return body


def button(*, guild_id: str | None, channel_id: str, message_id: str, message_flags: int, custom_id: str,
           session_id: str, nonce: str, application_id: str = MIDJOURNEY_APPLICATION_ID) -> dict[str, Any]:
    """A button click (type 3). ``message_id`` must be the message that shows the button and
    ``message_flags`` its flags (64 for ephemeral /settings messages)."""
    body = _envelope(INTERACTION_MESSAGE_COMPONENT, application_id=application_id, guild_id=guild_id,
                     channel_id=channel_id, session_id=session_id, nonce=nonce,
                     data={"component_type": COMPONENT_BUTTON, "custom_id": custom_id})
    body["message_flags"] = message_flags
    body["message_id"] = message_id
    return body


def select(*, guild_id: str | None, channel_id: str, message_id: str, message_flags: int, custom_id: str,
           values: Sequence[str], session_id: str, nonce: str,
           application_id: str = MIDJOURNEY_APPLICATION_ID) -> dict[str, Any]:
    """A string-select choice (the /settings version selector)."""
    data = {"component_type": COMPONENT_STRING_SELECT, "custom_id": custom_id, "type": COMPONENT_STRING_SELECT,
            "values": list(values)}
    body = _envelope(INTERACTION_MESSAGE_COMPONENT, application_id=application_id, guild_id=guild_id,
                     channel_id=channel_id, session_id=session_id, nonce=nonce, data=data)
    body["message_flags"] = message_flags
    body["message_id"] = message_id
    return body


def modal_submit(*, guild_id: str | None, channel_id: str, session_id: str, nonce: str, interaction_id: str,
                 modal_custom_id: str, input_custom_id: str, value: str,
                 application_id: str = MIDJOURNEY_APPLICATION_ID) -> dict[str, Any]:
    """A modal submit (type 5). ``interaction_id`` is the click that opened the modal; ``nonce`` must be
    fresh, since the job that follows is keyed by it."""
    text_input = {"type": COMPONENT_TEXT_INPUT, "custom_id": input_custom_id, "value": value}
    data = {"id": interaction_id, "custom_id": modal_custom_id,
            "components": [{"type": COMPONENT_ACTION_ROW, "components": [text_input]}]}
    return _envelope(INTERACTION_MODAL_SUBMIT, application_id=application_id, guild_id=guild_id,
                     channel_id=channel_id, session_id=session_id, nonce=nonce, data=data)
