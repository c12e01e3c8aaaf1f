"""Discord rendering: 2,000-character pages, embeds within every limit, files, display-safe names.

Pure functions (no network, no core calls), unit-tested without Discord. Paging never splits inside a
code fence (a long fence is closed and reopened on the next page), an inline code span, a masked link,
an <url> or a citation line such as "[2] Pricing (rates/uk.md) <https://...>".
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence

import discord

from bot.textsafe import ELLIPSIS, cut, no_masked_links, safe_user_text, strip_invisible

MESSAGE_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
THREAD_NAME_LIMIT = 90  # Discord allows 100
FILENAME_LIMIT = 80

NO_MENTIONS = discord.AllowedMentions.none()

COLOR_ANSWER = 0x5865F2
COLOR_PRIVATE = 0x57F287
COLOR_SCOPE = 0xFEE75C

_FENCE = re.compile(r"^\s*(```|~~~)")
# Atoms inside a line that must never be cut: inline code, masked links, <urls>, [n] citation markers.
_ATOM = re.compile(r"`[^`\n]+`|\[[^\]\n]*\]\([^)\s]*\)|<[^<>\s]+>|\[\d+\]|[^\s`]+|`|\s+")
_CITATION_LINE = re.compile(r"^\s*\[\d+\]\s")


# Paging ---------------------------------------------------------------------------------------


def _blocks(text: str) -> list[tuple[str, str]]:
    """Split text into ("fence", block) and ("line", line) items; an unclosed fence is closed."""
    out: list[tuple[str, str]] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            out.append(("line", lines[i]))
            i += 1
            continue
        marker = m.group(1)
        block = [lines[i]]
        i += 1
        closed = False
        while i < len(lines):
            block.append(lines[i])
            i += 1
            if lines[i - 1].strip() == marker:
                closed = True
                break
        if not closed:
            block.append(marker)
        out.append(("fence", "\n".join(block)))
    return out


def _hard_cut(text: str, limit: int) -> list[str]:
    return [text[i : i + limit] for i in range(0, len(text), limit)] or [""]


def _split_fence(block: str, limit: int) -> list[str]:
    lines = block.split("\n")
    header, marker, body = lines[0], lines[-1].strip() or "```", lines[1:-1]
    budget = limit - len(header) - len(marker) - 2
    if budget < 20:  # a pathological header: drop the language tag
        header = marker
        budget = limit - 2 * len(marker) - 2
    pieces: list[str] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        pieces.append("\n".join([header, *current, marker]))
        current, size = [], 0

    for line in body:
        for part in _hard_cut(line, budget) if len(line) > budget else [line]:
            extra = len(part) + (1 if current else 0)
            if current and size + extra > budget:
                flush()
                extra = len(part)
            current.append(part)
            size += extra
    if current or not pieces:
        flush()
    return pieces


def _split_line(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for atom in _ATOM.findall(line):
        if len(atom) > limit:
            if current.strip():
                pieces.append(current.rstrip())
            current = ""
            if atom.startswith("`") and atom.endswith("`") and len(atom) > 2:
                inner = _hard_cut(atom[1:-1], limit - 2)
                pieces.extend(f"`{p}`" for p in inner[:-1])
                current = f"`{inner[-1]}`"
            else:
                cut = _hard_cut(atom, limit)
                pieces.extend(cut[:-1])
                current = cut[-1]
            continue
        if len(current) + len(atom) > limit:
            if current.strip():
                pieces.append(current.rstrip())
            current = "" if atom.isspace() else atom
        else:
            current += atom
    if current.strip():
        pieces.append(current.rstrip())
    return pieces or [""]


def paginate(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into pages of at most `limit` characters at line boundaries, keeping atoms whole."""
    if limit < 40:
        raise ValueError("limit too small to page")
    text = text.strip("\n")
    if len(text) <= limit:
        return [text] if text else []
    pages: list[str] = []
    current = ""
    for kind, block in _blocks(text):
        candidate = f"{current}\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            continue
        if current.strip():
            pages.append(current.strip("\n"))
        current = ""
        if len(block) <= limit:
            current = block
            continue
        pieces = _split_fence(block, limit) if kind == "fence" else _split_line(block, limit)
        pages.extend(p for p in pieces[:-1] if p.strip())
        current = pieces[-1]
    if current.strip():
        pages.append(current.strip("\n"))
    return pages


def truncate(text: str, limit: int, note: str = "") -> str:
    """The first page of `text` within `limit` (with `note` appended when something was cut)."""
    text = text.strip("\n")
    if len(text) <= limit:
        return text
    reserve = len(note) + 2 if note else len(ELLIPSIS) + 1
    first = paginate(text, max(40, limit - reserve))[0]
    return f"{first}\n\n{note}" if note else f"{first}\n{ELLIPSIS}"


def defang(text: str) -> str:
    """Every text the bot sends, made inert: no masked link, and a zero-width space after the @ of
    @everyone, @here and <@id>/<@&id>.

    The bot already sends every message with AllowedMentions.none(), so nothing pings; this keeps a
    guide's or a CSV's "@everyone" from even looking like a mention.
    """
    return discord.utils.escape_mentions(no_masked_links(text))


# Embeds ----------------------------------------------------------------------------------------


def make_embed(
    *,
    title: str | None = None,
    description: str | None = None,
    fields: Iterable[tuple[str, str, bool]] = (),
    footer: str | None = None,
    color: int | None = COLOR_ANSWER,
    image_url: str | None = None,
) -> discord.Embed:
    """An embed with every part cut to Discord's limits and a total of at most 6,000 characters."""
    embed = discord.Embed(
        title=cut(defang(title), TITLE_LIMIT) if title else None,
        description=truncate(defang(description), DESCRIPTION_LIMIT) if description else None,
        color=color,
    )
    for name, value, inline in list(fields)[:FIELDS_LIMIT]:
        embed.add_field(name=cut(defang(name), FIELD_NAME_LIMIT) or "\u200b",
                        value=truncate(defang(value), FIELD_VALUE_LIMIT) if value else "\u200b", inline=inline)
    if footer:
        embed.set_footer(text=cut(defang(footer), FOOTER_LIMIT))
    if image_url:
        embed.set_image(url=image_url)
    _fit_total(embed)
    return embed


def _fit_total(embed: discord.Embed) -> None:
    while len(embed) > EMBED_TOTAL_LIMIT and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    over = len(embed) - EMBED_TOTAL_LIMIT
    if over > 0 and embed.description:
        embed.description = truncate(embed.description, max(40, len(embed.description) - over - 2))


def text_embeds(text: str, *, title: str | None = None, footer: str | None = None,
                color: int | None = COLOR_ANSWER, limit: int = DESCRIPTION_LIMIT) -> list[discord.Embed]:
    """Long markdown as consecutive embeds (description pages); the title on the first, footer on the last."""
    pages = paginate(text, limit) or [""]
    embeds = []
    for i, page in enumerate(pages):
        embeds.append(make_embed(
            title=title if i == 0 else None,
            description=page or "\u200b",
            footer=footer if i == len(pages) - 1 else None,
            color=color,
        ))
    return embeds


def group_embeds(embeds: Sequence[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages: at most 10 per message and 6,000 characters in total."""
    groups: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    total = 0
    for embed in embeds:
        size = len(embed)
        if current and (len(current) >= EMBEDS_PER_MESSAGE or total + size > EMBED_TOTAL_LIMIT):
            groups.append(current)
            current, total = [], 0
        current.append(embed)
        total += size
    if current:
        groups.append(current)
    return groups


def embed_problems(embeds: Sequence[discord.Embed]) -> list[str]:
    """Every Discord limit a message's embeds break (empty when the message is valid)."""
    problems = []
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(embeds)} embeds > {EMBEDS_PER_MESSAGE}")
    if sum(len(e) for e in embeds) > EMBED_TOTAL_LIMIT:
        problems.append("total > 6000")
    for e in embeds:
        if e.title and len(e.title) > TITLE_LIMIT:
            problems.append("title > 256")
        if e.description and len(e.description) > DESCRIPTION_LIMIT:
            problems.append("description > 4096")
        if len(e.fields) > FIELDS_LIMIT:
            problems.append("fields > 25")
        for f in e.fields:
            if len(f.name or "") > FIELD_NAME_LIMIT or len(f.value or "") > FIELD_VALUE_LIMIT:
                problems.append("field too long")
        if e.footer.text and len(e.footer.text) > FOOTER_LIMIT:
            problems.append("footer > 2048")
        if e.author.name and len(e.author.name) > AUTHOR_LIMIT:
            problems.append("author > 256")
    return problems


# Files and names -------------------------------------------------------------------------------


def png_file(data: bytes, filename: str) -> discord.File:
    return discord.File(io.BytesIO(data), filename=filename)


def text_file(text: str, filename: str) -> discord.File:
    return discord.File(io.BytesIO(text.encode("utf-8")), filename=filename)


def safe_filename(name: str, default: str = "file") -> str:
    """A file name safe for paths and Discord attachments: letters, digits, dot, dash, underscore; a long
    name is shortened before its extension, which is kept."""
    base = strip_invisible(str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or default
    if len(base) <= FILENAME_LIMIT:
        return base
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        return base[:FILENAME_LIMIT]
    return stem[: FILENAME_LIMIT - len(ext) - 1].rstrip("._") + "." + ext


def shown(text: str, limit: int = 100) -> str:
    """User-supplied text (a file name, a column) shown inline: inert mentions, no markdown."""
    cleaned = safe_user_text(strip_invisible(str(text)), limit)
    return "`" + cleaned.replace("`", "ˋ") + "`"


def strip_bot_mention(content: str, bot_id: int) -> str:
    """The message text without the bot's mention tokens."""
    return re.sub(rf"<@!?{bot_id}>", " ", content).strip()


_MENTION_TOKEN = re.compile(r"<(?:@[!&]?|#|a?:\w{1,32}:)\d{5,25}>|<t:-?\d+(?::\w)?>|@(?=everyone\b|here\b)")


def thread_name(text: str, limit: int = THREAD_NAME_LIMIT) -> str:
    """A thread name from a question: no mention, channel, emoji or timestamp tokens, no bidi or
    zero-width characters, on one line, within Discord's limit."""
    name = strip_invisible(_MENTION_TOKEN.sub(" ", text))
    return cut(name, limit) or "Question"
