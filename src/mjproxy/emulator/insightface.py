"""The InsightFace face-swap bot (application/user 1090660574196674713, midjourney-bot.md §1; commands ours).

`/saveid idname:<str> image:<attachment>` -> one reply with the nonce: `idname <name> created` (faces stored
per user). `/swapid idname:<str> image:<attachment>` -> unknown idname: reply `idname <name> not found`;
otherwise a placeholder reply with the nonce (empty content) then a MESSAGE_UPDATE of that same message with
content `<@U>` and one PNG `<idname>_<uuid>.png`: the target with the saved face pasted over it (round crop,
ring coloured from the face bytes)."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import TYPE_CHECKING

from . import images
from .bot import Job, option
from .cdn import Blob
from .state import INSIGHTFACE_BOT_ID, StoredMessage
from .world import Interaction

if TYPE_CHECKING:
    from .bot import MidjourneyBot

IDNAME = re.compile(r"[A-Za-z0-9]{1,20}")


class InsightFace:
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.faces: dict[tuple[str, str], Blob] = {}  # (user id, idname) -> face image
        bot.other_bots[INSIGHTFACE_BOT_ID] = self

    def handle(self, inter: Interaction) -> None:
        if inter.type != 2 or inter.name not in ("saveid", "swapid"):
            self.bot.world.fail(inter, 1)
            return
        idname = str(option(inter.data, "idname") or "").strip()
        image = inter.attachments.get(str(option(inter.data, "image")))
        if image is None or not _is_image(image.data):
            self.bot.respond(inter, content="Failed: the image could not be read, please upload a PNG or JPEG.")
            return
        if inter.name == "saveid":
            if not IDNAME.fullmatch(idname):
                self.bot.respond(inter, content="Failed: idname must be 1-20 letters or digits.")
                return
            self.faces[(inter.user_id, idname)] = image
            self.bot.respond(inter, content=f"idname {idname} created")
            return
        face = self.faces.get((inter.user_id, idname))
        if face is None:
            self.bot.respond(inter, content=f"idname {idname} not found")
            return
        message = self.bot.respond(inter, content="")
        job = Job(job_id=str(uuid.uuid4()), nonce=inter.nonce, interaction_id=inter.id, prompt=idname,
                  final_prompt=idname, user_id=inter.user_id, channel_id=inter.channel_id, mode="fast", seed=0,
                  command="swapid", action="swap_face", application_id=INSIGHTFACE_BOT_ID, status="running",
                  interaction=inter, response_message_id=message.id, progress_message_id=message.id,
                  buttons="none", images=1)
        self.bot.jobs.append(job)
        self.bot.world.spawn(self._swap(job, message, image.data, face.data))

    async def _swap(self, job: Job, message: StoredMessage, target: bytes, face: bytes) -> None:
        delay = self.bot.config.job_duration_s / 4
        if delay:
            await asyncio.sleep(delay)
        img = await asyncio.to_thread(images.face_overlay, target, face)
        png = await asyncio.to_thread(images.encode_png, img)
        att = self.bot.world.cdn.store_attachment(
            job.channel_id, self.bot.world.snowflakes.next(),
            Blob(png, "image/png", f"{job.prompt}_{job.job_id}.png", img.width, img.height))
        job.width, job.height, job.image_png = img.width, img.height, png
        self.bot.world.update_message(message, content=f"<@{job.user_id}>", attachments=[att])
        job.final_message_id, job.status = message.id, "done"


def _is_image(data: bytes) -> bool:
    try:
        images.decode(data)
        return True
    except Exception:
        return False
