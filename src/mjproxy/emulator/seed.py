"""/show and the ✉️ seed DM (midjourney-bot.md §6.18).

`/show job_id:<uuid>` (usually in the DM with the bot, no guild_id) -> the bot posts that job's image message
(image + its buttons) as the interaction response. A ✉️ reaction (`PUT …/reactions/%E2%9C%89%EF%B8%8F/@me`) on
such a message - or, knob `seed_on_guild_reaction`, on the original job message - makes the bot DM
`**<prompt>**\\n**Job ID**: <uuid>\\n**seed** <digits>`. Unknown job ids get the red `Job not found` embed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bot import option
from .cdn import Blob
from .state import BOT_USERS, INSIGHTFACE_BOT_ID, StoredMessage
from .world import Interaction

if TYPE_CHECKING:
    from .bot import Job, MidjourneyBot

ENVELOPES = {"\u2709\ufe0f", "\u2709", "envelope"}


def seed_content(job: Job) -> str:
    return f"**{job.final_prompt}**\n**Job ID**: {job.job_id}\n**seed** {job.seed}"


class Seed:
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        bot.commands["show"] = self.show
        bot.world.reaction_listeners.append(self.on_reaction)

    def show(self, inter: Interaction) -> None:
        bot = self.bot
        job_id = str(option(inter.data, "job_id") or "").strip()
        job = bot.by_hash.get(job_id)
        if job is None or job.image_png is None:
            bot.respond_notice(inter, "job_not_found", job_id, command="show")
            return
        original = bot.world.state.channels[job.channel_id].messages.get(job.final_message_id or "")
        content = str(original.data["content"]) if original is not None else job.final_prompt
        filename = str(original.data["attachments"][0]["filename"]) if original is not None else f"{job.job_id}.png"
        att = bot.world.cdn.store_attachment(inter.channel_id, bot.world.snowflakes.next(),
                                             Blob(job.image_png, "image/png", filename, job.width, job.height))
        message = bot.respond(inter, content=content, attachments=[att], components=bot.components_for(job))
        bot.by_message[message.id] = job

    def on_reaction(self, user_id: str, message: StoredMessage, emoji: str) -> None:
        if emoji not in ENVELOPES:
            return
        author = str(message.data["author"]["id"])
        job = self.bot.by_message.get(message.id)
        if author not in BOT_USERS or author == INSIGHTFACE_BOT_ID or job is None:
            return
        channel = self.bot.world.state.channels[message.data["channel_id"]]
        if channel.guild_id is not None and not self.bot.config.seed_on_guild_reaction:
            return
        user = self.bot.user(user_id)
        dm = self.bot.world.state.open_dm(user, job.application_id)

        async def send() -> None:
            self.bot.world.create_message(dm.id, job.application_id, content=seed_content(job))

        self.bot.world.spawn(send())
