"""Messages: a mention or a reply to the bot in a server, any DM, a CSV dropped in a DM.

Follow-ups: a reply to one of the bot's answers continues that answer's conversation (its id rides in
the feedback buttons' custom ids), a message in a thread the bot started continues the thread's, and a
DM continues the user's private DM conversation (private turns expire after an hour in the core).
Answers the core marks private (rates) go to DMs, never to the channel.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.discord.answers import answer_pages, ask_core
from bot.discord.common import check_cooldown, error_text
from bot.discord.front import Front
from bot.discord.render import NO_MENTIONS, strip_bot_mention, thread_name
from bot.discord.scoping import (
    CSV_SUFFIXES,
    TARGET_WAIT_SECONDS,
    check_csv_attachment,
    parse_target,
    read_capped,
    scope_job,
    scope_payload,
)
from bot.discord.views import conversation_of
from bot.errors import TargetNeeded

log = logging.getLogger("bot.discord.events")

EMPTY_MENTION = "Ask me something after the mention, e.g. “how do I price a fixed-scope NLP project?”, or try `/help`."
DM_CLOSED = ("🔒 I keep rate questions private, but I can't DM you (your DMs are closed). Use `/ask` with "
             "`private: True` or `/rate` here instead: only you will see the answer.")


class EventsCog(commands.Cog):
    def __init__(self, bot: Front):
        self.bot = bot
        self._awaiting_target: set[int] = set()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return
        try:
            if message.guild is None:
                if message.author.id not in self._awaiting_target:
                    await self._direct(message)
            elif self._addressed(message):
                await self._mention(message)
        except Exception as exc:  # noqa: BLE001 - one user's failure never stops the others
            await self._fail(message, exc)

    # Server messages -------------------------------------------------------------------------
    def _addressed(self, message: discord.Message) -> bool:
        me = self.bot.user
        assert me is not None
        if any(u.id == me.id for u in message.mentions):
            return True
        own_role = message.guild.self_role if message.guild else None
        if own_role is not None and own_role in message.role_mentions:
            return True  # people often pick the bot's managed role in the mention list
        if not message.content:
            return False  # without the content intent only mentions and replies carry text
        ref = message.reference.resolved if message.reference else None
        if isinstance(ref, discord.Message) and ref.author.id == me.id:
            return True
        channel = message.channel
        return isinstance(channel, discord.Thread) and channel.owner_id == me.id

    def _conversation(self, message: discord.Message) -> str | None:
        me = self.bot.user
        ref = message.reference.resolved if message.reference else None
        if isinstance(ref, discord.Message) and me is not None and ref.author.id == me.id:
            return conversation_of(ref) or f"dr{ref.id}"
        channel = message.channel
        if isinstance(channel, discord.Thread) and me is not None and channel.owner_id == me.id:
            return f"dt{channel.id}"
        return None

    async def _mention(self, message: discord.Message) -> None:
        assert self.bot.user is not None
        question = strip_bot_mention(message.content, self.bot.user.id)
        own_role = message.guild.self_role if message.guild else None
        if own_role is not None:
            question = question.replace(own_role.mention, " ").strip()
        if not question:
            await message.reply(EMPTY_MENTION, mention_author=False, allowed_mentions=NO_MENTIONS)
            return
        await check_cooldown(self.bot, message.author, "ask", self.bot.settings.discord.ask_cooldown_seconds)
        conversation = self._conversation(message)
        destination: discord.abc.Messageable = message.channel
        reply_to: discord.Message | None = message
        if conversation is None and self.bot.settings.discord.thread_answers \
                and isinstance(message.channel, discord.TextChannel):
            try:
                thread = await message.create_thread(name=thread_name(question))
                destination, reply_to, conversation = thread, None, f"dt{thread.id}"
            except discord.HTTPException as exc:
                log.warning("could not start a thread status=%s; answering in the channel", exc.status)
        async with destination.typing():
            result = await ask_core(self.bot, question, message.author, private=False, conversation_id=conversation)
        if result.get("private"):
            await self._private_answer(message, result)
            return
        await self._send_pages(destination, result, reply_to=reply_to)
        log.info("mention answered declined=%s", result.get("declined"))

    async def _private_answer(self, message: discord.Message, result: dict) -> None:
        """A private topic asked in a channel: the answer goes to the user's DMs."""
        try:
            await self._send_pages(message.author, result)
        except discord.Forbidden:
            await message.reply(DM_CLOSED, mention_author=False, allowed_mentions=NO_MENTIONS)
            return
        await message.reply("🔒 I keep rate questions private, so I've sent my answer to your DMs.",
                            mention_author=False, allowed_mentions=NO_MENTIONS)

    async def _send_pages(self, destination: discord.abc.Messageable, result: dict,
                          reply_to: discord.Message | None = None) -> None:
        pages, view = answer_pages(result)
        for i, page in enumerate(pages):
            kwargs = {"allowed_mentions": NO_MENTIONS}
            if i == len(pages) - 1 and view is not None:
                kwargs["view"] = view
            if i == 0 and reply_to is not None:
                await reply_to.reply(page, mention_author=False, **kwargs)
            else:
                await destination.send(page, **kwargs)

    # DMs ---------------------------------------------------------------------------------------
    async def _direct(self, message: discord.Message) -> None:
        csvs = [a for a in message.attachments if (a.filename or "").lower().endswith(CSV_SUFFIXES)]
        if csvs:
            await self._scope_from_dm(message, csvs[0])
            return
        question = message.content.strip()
        if not question:
            if message.attachments:
                await message.channel.send("I can scope CSV files (.csv, .csv.gz); other files are not read.",
                                           allowed_mentions=NO_MENTIONS)
            return
        await check_cooldown(self.bot, message.author, "ask", self.bot.settings.discord.ask_cooldown_seconds)
        async with message.channel.typing():
            result = await ask_core(self.bot, question, message.author, private=True,
                                    conversation_id=f"dm{message.author.id}")
        await self._send_pages(message.channel, result)

    async def _scope_from_dm(self, message: discord.Message, attachment: discord.Attachment) -> None:
        target = parse_target(message.content)
        check_csv_attachment(self.bot, attachment)
        await check_cooldown(self.bot, message.author, "scope", self.bot.settings.discord.scope_cooldown_seconds)
        data = await read_capped(self.bot, attachment)
        log.info("dm scope requested bytes=%d", len(data))
        status = await message.channel.send("⏳ Got your CSV…", allowed_mentions=NO_MENTIONS)

        async def edit(text: str) -> None:
            await status.edit(content=text, allowed_mentions=NO_MENTIONS)

        no_token_limit = self.bot.settings.scope.hard_timeout_seconds + 60
        while True:
            try:
                result = await scope_job(self.bot, message.author, data=data, filename=attachment.filename,
                                         target=target, budget=None, edit=edit, seconds_left=lambda: no_token_limit)
                break
            except TargetNeeded as exc:
                if target is not None:
                    raise
                target = await self._ask_target(message, status, exc)
                if target is None:
                    return
        del data
        await message.channel.send(allowed_mentions=NO_MENTIONS, **scope_payload(result)())
        await status.edit(content="✅ Scope done (below). `/quote` prices it.", allowed_mentions=NO_MENTIONS)

    async def _ask_target(self, message: discord.Message, status: discord.Message, exc: TargetNeeded) -> str | None:
        """Ask which column to predict and wait for the answer (the CSV stays in memory meanwhile)."""
        author, channel = message.author, message.channel
        await status.edit(content=f"⚠️ {exc.message}\n\n**Which column should I predict?** Reply with its name "
                                  f"within {TARGET_WAIT_SECONDS // 60} minutes.", allowed_mentions=NO_MENTIONS)
        self._awaiting_target.add(author.id)
        try:
            answer = await self.bot.wait_for(
                "message", timeout=TARGET_WAIT_SECONDS,
                check=lambda m: m.author.id == author.id and m.channel.id == channel.id and not m.attachments)
        except TimeoutError:
            await status.edit(content="No column given, so I dropped the file. Send it again with `target=COLUMN` "
                                      "as the message text.", allowed_mentions=NO_MENTIONS)
            return None
        finally:
            self._awaiting_target.discard(author.id)
        target = parse_target(answer.content)
        if target:
            await status.edit(content="⏳ Thanks, starting again with that column…", allowed_mentions=NO_MENTIONS)
        return target

    async def _fail(self, message: discord.Message, exc: Exception) -> None:
        text = error_text(exc, where="message")
        try:
            if message.guild is None:
                await message.channel.send(text, allowed_mentions=NO_MENTIONS)
            else:
                await message.reply(text, mention_author=False, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("could not report an error on a message")
