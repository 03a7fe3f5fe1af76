"""Discord REST routes (discord.md §4), served under /api/v9, /api/v10 and /api."""

from __future__ import annotations

import io
import json
import re
import secrets
import urllib.parse
import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from . import errors as E
from .cdn import Blob
from .content import custom_ids
from .state import BOT_USERS, Channel, JsonDict, StoredMessage, User
from .world import Interaction, World

NONCE_RE = re.compile(r"\d{1,25}")


def _image_size(data: bytes) -> tuple[int | None, int | None]:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return int(img.width), int(img.height)
    except Exception:
        return None, None


class Rest:
    def __init__(self, world: World, base_url: Any) -> None:
        self.world = world
        self.state = world.state
        self._base_url = base_url
        self.pending_uploads: dict[str, str] = {}  # upload_filename -> upload_id

    # --- helpers -----------------------------------------------------------------------------------
    def auth(self, request: Request) -> User:
        user = self.state.user_by_token(request.headers.get("authorization"))
        if user is None:
            raise E.unauthorized()
        return user

    def channel_for(self, user: User, channel_id: str) -> Channel:
        channel = self.state.channels.get(channel_id)
        if channel is None:
            raise E.unknown_channel()
        if not self.state.can_see(user.id, channel):
            raise E.missing_access()
        return channel

    @staticmethod
    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            raise E.invalid_json() from None

    async def payload_and_files(self, request: Request) -> tuple[Any, dict[str, tuple[bytes, str, str]]]:
        """JSON body, or multipart with `payload_json` plus `files[n]` parts."""
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            return await self.json_body(request), {}
        form = await request.form()
        files: dict[str, tuple[bytes, str, str]] = {}
        payload: Any = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = (await value.read(), value.filename or "file", value.content_type or "")
            elif key == "payload_json":
                try:
                    payload = json.loads(value)
                except ValueError:
                    raise E.invalid_json() from None
            elif key in ("content", "nonce"):
                payload[key] = value
        return payload, files

    def message_out(self, message: StoredMessage, with_nonce: bool = False) -> JsonDict:
        data: JsonDict = json.loads(json.dumps(message.data))
        if with_nonce and message.nonce is not None:
            data["nonce"] = message.nonce
        return data

    # --- routes ------------------------------------------------------------------------------------
    def router(self) -> APIRouter:
        r = APIRouter()
        r.add_api_route("/users/@me", self.get_me, methods=["GET"])
        r.add_api_route("/users/@me/channels", self.get_dms, methods=["GET"])
        r.add_api_route("/users/@me/channels", self.open_dm, methods=["POST"])
        r.add_api_route("/users/@me/application-command-index", self.command_index, methods=["GET"])
        r.add_api_route("/applications/{aid}/application-command-index", self.command_index, methods=["GET"])
        r.add_api_route("/guilds/{gid}/application-command-index", self.guild_command_index, methods=["GET"])
        r.add_api_route("/channels/{cid}/application-command-index", self.channel_command_index, methods=["GET"])
        r.add_api_route("/channels/{cid}/application-commands/search", self.command_search, methods=["GET"])
        r.add_api_route("/channels/{cid}", self.get_channel, methods=["GET"])
        r.add_api_route("/channels/{cid}/messages", self.get_messages, methods=["GET"])
        r.add_api_route("/channels/{cid}/messages", self.post_message, methods=["POST"])
        r.add_api_route("/channels/{cid}/messages/{mid}", self.get_message, methods=["GET"])
        r.add_api_route("/channels/{cid}/attachments", self.upload_slots, methods=["POST"])
        r.add_api_route("/channels/{cid}/messages/{mid}/reactions/{emoji}/@me", self.reaction,
                        methods=["PUT", "DELETE"])
        r.add_api_route("/interactions", self.interactions, methods=["POST"])
        return r

    def upload_router(self) -> APIRouter:
        r = APIRouter()
        r.add_api_route("/upload/{key}/{filename}", self.put_upload, methods=["PUT"])
        return r

    async def get_me(self, request: Request) -> JsonDict:
        return self.auth(request).to_json(private=True)

    async def get_dms(self, request: Request) -> list[JsonDict]:
        user = self.auth(request)
        return [self.state.channel_json(self.state.channels[c]) for c in user.dm_channel_ids]

    async def open_dm(self, request: Request) -> JsonDict:
        user = self.auth(request)
        body = await self.json_body(request)
        body = body if isinstance(body, dict) else {}
        recipients = body.get("recipients") or ([body["recipient_id"]] if body.get("recipient_id") else [])
        if not recipients or not isinstance(recipients, list):
            raise E.invalid_form(["recipients"], "BASE_TYPE_REQUIRED", "This field is required")
        target = str(recipients[0])
        if target not in BOT_USERS and target not in self.state.users:
            raise E.invalid_form(["recipients", 0], "USER_NOT_FOUND", "Unknown user")
        return self.state.channel_json(self.state.open_dm(user, target))

    async def command_index(self, request: Request, aid: str | None = None) -> JsonDict:
        self.auth(request)
        return self.world.commands.index(self.world.config.index_applications)

    async def guild_command_index(self, request: Request, gid: str) -> JsonDict:
        user = self.auth(request)
        guild = self.state.guilds.get(gid)
        if guild is None:
            raise E.unknown_guild()
        if user.id not in guild.member_ids:
            raise E.missing_access()
        return self.world.commands.index(self.world.config.index_applications)

    async def channel_command_index(self, request: Request, cid: str) -> JsonDict:
        self.channel_for(self.auth(request), cid)
        return self.world.commands.index(self.world.config.index_applications)

    async def command_search(self, request: Request, cid: str) -> JsonDict:
        self.channel_for(self.auth(request), cid)
        q = request.query_params
        try:
            limit = max(1, min(int(q.get("limit", "25")), 100))
            cmd_type = int(q["type"]) if "type" in q else None
        except ValueError:
            raise E.invalid_form(["limit"], "NUMBER_TYPE_COERCE", "Value is not int.") from None
        return self.world.commands.search(q.get("query", ""), limit, cmd_type)

    async def get_channel(self, request: Request, cid: str) -> JsonDict:
        return self.state.channel_json(self.channel_for(self.auth(request), cid))

    async def get_messages(self, request: Request, cid: str) -> list[JsonDict]:
        channel = self.channel_for(self.auth(request), cid)
        q = request.query_params
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            raise E.invalid_form(["limit"], "NUMBER_TYPE_COERCE", "Value is not int.") from None
        if not 1 <= limit <= 100:
            raise E.invalid_form(["limit"], "NUMBER_TYPE_MAX", "int value should be less than or equal to 100.")
        history = channel.visible_history()  # oldest first
        try:
            if "around" in q:
                pivot = int(q["around"])
                older = [m for m in history if int(m.id) < pivot]
                newer = [m for m in history if int(m.id) >= pivot]
                half = limit // 2
                take_new = newer[: max(limit - half, limit - len(older))]
                picked = older[-(limit - len(take_new)):] if limit - len(take_new) > 0 else []
                page = picked + take_new
            elif "before" in q:
                page = [m for m in history if int(m.id) < int(q["before"])][-limit:]
            elif "after" in q:
                page = [m for m in history if int(m.id) > int(q["after"])][:limit]
            else:
                page = history[-limit:]
        except ValueError:
            raise E.invalid_form(["before"], "SNOWFLAKE_TYPE_INVALID", "Value is not snowflake.") from None
        return [self.message_out(m) for m in reversed(page)]  # newest first

    async def get_message(self, request: Request, cid: str, mid: str) -> JsonDict:
        self.channel_for(self.auth(request), cid)
        raise E.bots_only()  # user tokens cannot fetch a single message (observed)

    async def post_message(self, request: Request, cid: str) -> JsonDict:
        user = self.auth(request)
        channel = self.channel_for(user, cid)
        payload, files = await self.payload_and_files(request)
        if not isinstance(payload, dict):
            raise E.invalid_json()
        nonce = payload.get("nonce")
        if nonce is not None and (not isinstance(nonce, str | int) or not NONCE_RE.fullmatch(str(nonce))):
            raise E.invalid_form(["nonce"], "NONCE_TYPE_INVALID_SIZE", "Nonce must be a string of at most 25 digits")
        attachments: list[JsonDict] = []
        refs = payload.get("attachments") or []
        if not isinstance(refs, list):
            raise E.invalid_form(["attachments"], "BASE_TYPE_LIST", "Must be a list.")
        for i, ref in enumerate(refs):
            if not isinstance(ref, dict):
                raise E.invalid_form(["attachments", i], "BASE_TYPE_DICT", "Must be an object.")
            uploaded = ref.get("uploaded_filename")
            blob: Blob | None = None
            if uploaded:
                blob = self.world.cdn.uploads.get(str(uploaded))
            elif f"files[{ref.get('id')}]" in files:
                data, fname, ctype = files[f"files[{ref.get('id')}]"]
                blob = Blob(data, ctype or "application/octet-stream", fname, *_image_size(data))
            if blob is None:
                raise E.invalid_form(["attachments", i, "uploaded_filename"], "ATTACHMENT_NOT_FOUND",
                                     "Attachment not found")
            name = str(ref.get("filename") or blob.filename)
            stored = Blob(blob.data, blob.content_type, name, blob.width, blob.height)
            attachments.append(self.world.cdn.store_attachment(cid, self.world.snowflakes.next(), stored))
        referenced = {f"files[{r.get('id')}]" for r in refs if isinstance(r, dict)}
        for key, (data, fname, ctype) in files.items():
            if key not in referenced:
                blob = Blob(data, ctype or "application/octet-stream", fname, *_image_size(data))
                attachments.append(self.world.cdn.store_attachment(cid, self.world.snowflakes.next(), blob))
        content = payload.get("content") or ""
        if not isinstance(content, str):
            raise E.invalid_form(["content"], "BASE_TYPE_STRING", "Must be a string.")
        if not content and not attachments:
            raise E.empty_message()
        message = self.world.create_message(
            channel.id, user.id, content=content, attachments=attachments,
            nonce=str(nonce) if nonce is not None else None,
        )
        return self.message_out(message, with_nonce=True)

    async def upload_slots(self, request: Request, cid: str) -> JsonDict:
        self.channel_for(self.auth(request), cid)
        body = await self.json_body(request)
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list) or not 1 <= len(files) <= 10:
            raise E.invalid_form(["files"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 10 in length.")
        base = (self.world.config.upload_base_url or self._base_url()).rstrip("/")
        out: list[JsonDict] = []
        for i, f in enumerate(files):
            if not isinstance(f, dict) or not isinstance(f.get("filename"), str) or not f["filename"]:
                raise E.invalid_form(["files", i, "filename"], "BASE_TYPE_REQUIRED", "This field is required")
            filename = re.sub(r"[^A-Za-z0-9._-]", "_", f["filename"].split("/")[-1])
            key = str(uuid.uuid4())
            upload_id = secrets.token_urlsafe(48)
            upload_filename = f"{key}/{filename}"
            self.pending_uploads[upload_filename] = upload_id
            out.append({
                "id": f.get("id", str(i)),
                "upload_url": f"{base}/upload/{upload_filename}?upload_id={upload_id}",
                "upload_filename": upload_filename,
            })
        return {"attachments": out}

    async def put_upload(self, request: Request, key: str, filename: str) -> Response:
        upload_filename = f"{key}/{filename}"
        expected = self.pending_uploads.get(upload_filename)
        if expected is None or request.query_params.get("upload_id") != expected:
            return Response("<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code></Error>",
                            403, media_type="application/xml")
        data = await request.body()
        ctype = request.headers.get("content-type") or "application/octet-stream"
        self.world.cdn.uploads[upload_filename] = Blob(data, ctype, filename, *_image_size(data))
        return Response(b"", 200)

    async def reaction(self, request: Request, cid: str, mid: str, emoji: str) -> Response:
        user = self.auth(request)
        self.channel_for(user, cid)
        message = self.state.find_message(cid, mid)
        if message is None or (message.ephemeral_for and message.ephemeral_for != user.id):
            raise E.unknown_message()
        if request.method == "PUT":
            self.world.add_reaction(user.id, message, urllib.parse.unquote(emoji))
        return Response(status_code=204)

    # --- POST /interactions ------------------------------------------------------------------------
    async def interactions(self, request: Request) -> Response:
        user = self.auth(request)
        payload, files = await self.payload_and_files(request)
        inter = self.validate_interaction(user, payload)
        inter.attachments = self.resolve_attachments(inter.data, files)
        if inter.nonce is not None and not self.world.first_use_of_nonce(user.id, inter.nonce):
            # Discord de-duplicates on the nonce (discord.md §1): a retry of an accepted interaction (its 204
            # was lost to a 5xx or a timeout) is answered 204 again and not run a second time.
            return Response(status_code=204)
        self.world.accept_interaction(inter)
        return Response(status_code=204)

    def resolve_attachments(self, data: JsonDict, files: dict[str, tuple[bytes, str, str]]) -> dict[str, Blob]:
        """data.attachments -> uploaded bytes (slots + PUT, or multipart `files[n]`, discord.md §4.3).

        Direct uploads are also kept under a synthetic upload_filename `direct/<snowflake>/<name>`.
        Unknown uploads and type-11 options naming no attachment give 400 50035."""
        refs = data.get("attachments") or []
        if not isinstance(refs, list):
            raise E.invalid_form(["data", "attachments"], "BASE_TYPE_LIST", "Must be a list.")
        out: dict[str, Blob] = {}
        for i, ref in enumerate(refs):
            if not isinstance(ref, dict):
                raise E.invalid_form(["data", "attachments", i], "BASE_TYPE_DICT", "Must be an object.")
            aid = str(ref.get("id", i))
            uploaded = ref.get("uploaded_filename")
            blob: Blob | None = None
            if uploaded:
                blob = self.world.cdn.uploads.get(str(uploaded))
            elif f"files[{aid}]" in files:
                raw, fname, ctype = files[f"files[{aid}]"]
                blob = Blob(raw, ctype or "application/octet-stream", str(ref.get("filename") or fname),
                            *_image_size(raw))
                self.world.cdn.uploads[f"direct/{self.world.snowflakes.next()}/{blob.filename}"] = blob
            if blob is None:
                raise E.invalid_form(["data", "attachments", i, "uploaded_filename"], "ATTACHMENT_NOT_FOUND",
                                     "Attachment not found")
            out[aid] = blob
        stack = [o for o in data.get("options") or [] if isinstance(o, dict)]
        while stack:
            opt = stack.pop()
            stack.extend(o for o in opt.get("options") or [] if isinstance(o, dict))
            if opt.get("type") == 11 and str(opt.get("value")) not in out:
                raise E.invalid_form(["data", "options", str(opt.get("name"))], "ATTACHMENT_NOT_FOUND",
                                     "Attachment not found")
        return out

    def validate_interaction(self, user: User, body: Any) -> Interaction:
        if not isinstance(body, dict):
            raise E.invalid_json()
        itype = body.get("type")
        if itype not in (2, 3, 4, 5):
            raise E.invalid_form(["type"], "BASE_TYPE_CHOICES", "Value must be one of {2, 3, 4, 5}.")
        app_id = str(body.get("application_id") or "")
        if not app_id:
            raise E.invalid_form(["application_id"], "BASE_TYPE_REQUIRED", "This field is required")
        if app_id not in BOT_USERS:
            raise E.unknown_application()
        for key in ("channel_id", "session_id"):
            if not isinstance(body.get(key), str | int) or not str(body.get(key)):
                raise E.invalid_form([key], "BASE_TYPE_REQUIRED", "This field is required")
        nonce = body.get("nonce")
        if nonce is not None and (not isinstance(nonce, str) or not NONCE_RE.fullmatch(nonce)):
            raise E.invalid_form(["nonce"], "NONCE_TYPE_INVALID_SIZE", "Nonce must be a string of at most 25 digits")
        channel = self.channel_for(user, str(body["channel_id"]))
        data = body.get("data")
        if not isinstance(data, dict):
            raise E.invalid_form(["data"], "BASE_TYPE_REQUIRED", "This field is required")
        message_id: str | None = None
        if itype in (2, 4):
            self._validate_command(app_id, data)
        elif itype == 3:
            message_id = str(body.get("message_id") or "")
            message = self.state.find_message(channel.id, message_id) if message_id else None
            if message is None or (message.ephemeral_for and message.ephemeral_for != user.id):
                raise E.invalid_form(["message_id"], "INTERACTION_MESSAGE_NOT_FOUND", "Unknown message")
            author = str(message.data.get("author", {}).get("id"))
            if author in BOT_USERS and author != app_id:
                if self.world.config.strict_component_application:
                    raise E.invalid_form(["application_id"], "INTERACTION_APPLICATION_MISMATCH",
                                         "The message does not belong to this application")
                app_id = author  # the click goes to the bot that owns the message (unverified leniency)
            if str(data.get("custom_id", "")) not in custom_ids(message.data.get("components") or []):
                raise E.invalid_form(["data", "custom_id"], "COMPONENT_VALIDATION_FAILED",
                                     "Component validation failed")
            flags = int(message.data.get("flags") or 0)
            if self.world.config.strict_message_flags and (int(body.get("message_flags") or 0) & 64) != (flags & 64):
                raise E.invalid_form(["message_flags"], "INTERACTION_MESSAGE_FLAGS_INVALID",
                                     "message_flags must match the target message")
        else:
            if not isinstance(data.get("custom_id"), str) or not isinstance(data.get("components"), list):
                raise E.invalid_form(["data", "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
            opener = self.world.interactions.get(str(data.get("id", "")))
            if opener is None or opener.user_id != user.id:
                raise E.invalid_form(["data", "id"], "INTERACTION_NOT_FOUND", "Unknown interaction")
            message_id = opener.message_id  # a submit is "about" the message whose button opened the modal
        return Interaction(
            id=self.world.snowflakes.next(),
            type=int(itype),
            user_id=user.id,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            application_id=app_id,
            session_id=str(body["session_id"]),
            nonce=nonce,
            data=data,
            message_id=message_id,
            message_flags=int(body.get("message_flags") or 0),
        )

    def _validate_command(self, app_id: str, data: JsonDict) -> None:
        name = data.get("name")
        command = self.world.commands.get(app_id, str(name)) if isinstance(name, str) else None
        if command is None:
            raise E.invalid_form(["data", "name"], "INTERACTION_APPLICATION_COMMAND_INVALID",
                                 "Unknown application command")
        if self.world.config.strict_command_versions and (
            str(data.get("version")) != command["version"] or str(data.get("id")) != command["id"]
        ):
            raise E.outdated_command()
        options = data.get("options") or []
        if not isinstance(options, list):
            raise E.invalid_form(["data", "options"], "BASE_TYPE_LIST", "Must be a list.")
        given = {o.get("name"): o for o in options if isinstance(o, dict)}
        for i, spec in enumerate(command.get("options") or []):
            if spec.get("type") in (1, 2):
                continue  # subcommands: validated by the bot
            opt = given.get(spec["name"])
            if opt is None:
                if spec.get("required"):
                    raise E.invalid_form(["data", "options", i], "INTERACTION_APPLICATION_COMMAND_OPTION_REQUIRED",
                                         f"Option \"{spec['name']}\" is required")
                continue
            value = opt.get("value")
            if spec.get("type") == 3 and (not isinstance(value, str) or (spec.get("required") and not value.strip())):
                raise E.invalid_form(["data", "options", i, "value"], "BASE_TYPE_STRING", "Must be a non-empty string.")
