"""Display-safe text: names and cells from user files are data, never markup.

`display_name` / `display_cell` are applied to every column name and cell value that any output
shows (JSON included). They remove control, bidi and zero-width characters, cap combining marks,
neutralise mentions (``@`` becomes the full-width ``＠``, so no mention can ever parse), break code
fences and masked links, and mark a leading formula or heading character with a quote. Raw values
stay inside computations.

`no_masked_links` is the last step of every front's rendering (Discord, CLI, console): no message the
bot sends carries a clickable `[text](url)`, whatever a guide, a model or a user wrote.
"""

from __future__ import annotations

import re
import unicodedata

NAME_MAX = 64
ELLIPSIS = "…"
_FORMULA_START = ("=", "+", "-", "@", "＠", "|", "%")
_BLOCK_START = ("#", ">", "*")
_NUMBER = re.compile(r"^[+-]?(\d[\d,_ ]*)?(\.\d+)?([eE][+-]?\d+)?%?$")
_INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn")  # control, format (bidi, zero-width, BOM), surrogate, private, unassigned
_LINE_BREAKS = re.compile(r"[\t\r\n\u2028\u2029]")
# "](" with nothing, or only invisible characters, between: the joint of a masked link [text](url).
_LINK_JOINT = re.compile(r"\][\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]*\(")
_LINK_MARKUP = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_PLAIN_URL = re.compile(r"^https?://[^\s<>()\[\]\"'`|\\]+$", re.I)


def drop_invisible(text: str, keep: str = "\n\t") -> str:
    """Remove control, format (bidi, zero-width, BOM), surrogate, private-use and unassigned characters,
    except those in `keep`."""
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch) not in _INVISIBLE)


def strip_invisible(text: str) -> str:
    """Drop invisible characters, line breaks become spaces, whitespace collapses, combining marks are
    capped at two per letter (a zalgo flood)."""
    text = _LINE_BREAKS.sub(" ", drop_invisible(text, keep="\t\r\n"))
    out = []
    marks = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me"):
            marks += 1
            if marks > 2:
                continue
        else:
            marks = 0
        out.append(ch)
    return re.sub(r"\s{2,}", " ", "".join(out)).strip()


# Chat markup a question may carry that says nothing about its subject: Discord's user and role mentions
# (read as "someone": "<@123> says i should charge £300" is about what someone said), channel mentions,
# custom emoji, timestamps, and links (the bot reads no page; "example.com/contract.pdf" is no question).
_MENTION = re.compile(r"<@[!&]?\d+>")
# Mentions a line opens with, before a question ("<@bot> what is ..."), say who it is addressed to;
# before anything else ("<@42> says £300 is fine") they are its subject.
_ADDRESSEE = re.compile(r"^\s*((<@[!&]?\d+>|<#\d+>)[\s,:]*)+(?=(what|whats|what's|how|why|when|where|which|who|"
                        r"is|are|am|can|could|should|shall|do|does|did|will|would|any|anyone|hey|hi|hello|pls|"
                        r"please|quick)\b)", re.I)
_CHAT_TOKEN = re.compile(r"<#\d+>|<a?:\w+:\d+>|<t:-?\d+(?::[tTdDfFR])?>|<?https?://[^\s<>]+>?", re.I)


# Typed around a question in chat, and no part of it: a leading command or @name ("/q", "!ask", "@bot"),
# emphasis and code marks ("**urgent**", "`/q`"; a "*" between numbers stays a product), emoji.
_LEADING = re.compile(r"^(\W*?([/!][a-z]+|@[\w.-]+)(?=\W|$))+", re.I)
_MARKS = re.compile(r"`+|~~|\*{1,3}(?=[^\W\d_])|(?<=[^\W\d_])\*{1,3}")


def _no_emoji(text: str) -> str:
    if text.isascii():
        return text
    return "".join(" " if unicodedata.category(c) in ("So", "Cs", "Co") else
                   "" if c in "\u200d\ufe0f\ufe0e" or 0x1F3FB <= ord(c) <= 0x1F3FF else c for c in text)


def chat_read(text: str, mention: str = "someone") -> str:
    """A chat line as the ask pipeline reads it: mentions read as `mention`, except those it opens with (its
    addressee); channel tokens, custom emoji, timestamps, links, emoji, emphasis and code marks and a leading
    command or @name left out."""
    text = _ADDRESSEE.sub(" ", text)  # "<@bot> <#chan> what ...": who the line is addressed to, not its subject
    text = _CHAT_TOKEN.sub(" ", _MENTION.sub(mention, text))
    text = _LEADING.sub(" ", _MARKS.sub("", _no_emoji(text)).strip())  # "`/q` @bot ..."
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def no_masked_links(text: str) -> str:
    """Break every masked link ([text](url) renders as a clickable "text"): the final filter of every front."""
    return _LINK_JOINT.sub("] (", text)


def link_text(text: str) -> str:
    """Markdown links reduced to their text ("[Rates](https://x)" -> "Rates"), for titles and headings."""
    return _LINK_MARKUP.sub(r"\1", text)


def plain_url(url: object) -> str | None:
    """The URL when it is one plain http(s) address (shown as <url>), else None."""
    text = str(url or "").strip()
    return text if _PLAIN_URL.match(text) and len(text) <= 500 else None


def neutralise(text: str) -> str:
    """Make mentions, code fences and masked links inert (in any renderer)."""
    text = text.replace("@", "＠")  # full-width: never parsed as @everyone, <@id> or <@&id>
    text = text.replace("<#", "<＃")
    text = text.replace("`", "ˋ")  # no code-span or fence breakout
    text = no_masked_links(text)
    text = text.replace("||", "| |")  # no spoiler
    text = re.sub(r"(?i)\b(https?)://", r"\1[:]//", text)  # no clickable or embedded link
    return text


def cut(text: str | None, limit: int) -> str:
    """Cut text to `limit` characters, with an ellipsis when something was cut."""
    text = text or ""
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + ELLIPSIS


def _mark_leading(text: str) -> str:
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    if text.startswith(_BLOCK_START):
        return "'" + text
    return text


def display_name(name: object, limit: int = NAME_MAX) -> str:
    """A column name as every output shows it."""
    text = neutralise(strip_invisible(str(name)))
    text = _mark_leading(text)
    return cut(text, limit) or "(blank)"


def display_cell(value: object, limit: int = 60) -> str:
    """A cell value as every output shows it (shorter cap than names)."""
    text = neutralise(strip_invisible(str(value)))
    return cut(_mark_leading(text), limit)


def visible_repr(name: str) -> str:
    """Show look-alike and invisible characters as escapes (for 'did you mean' messages)."""
    shown = ascii(str(name))[1:-1]
    return cut(neutralise(shown), 80)


def code_span(text: str) -> str:
    """Put already display-safe text in an inline code span (backticks were replaced upstream)."""
    return "`" + text.replace("`", "ˋ") + "`"


def spreadsheet_safe(value: str) -> str:
    """OWASP CSV-injection rule for exported cells: a leading = + - @ TAB CR gets a quote."""
    if value and (value[0] in "=+-@\t\r" or value[0] == "＠") and not _NUMBER.match(value):
        return "'" + value
    return value


def safe_user_text(text: str, limit: int = 2000) -> str:
    """User-supplied prose (questions, guide text) echoed back: inert mentions, no invisible chars."""
    cleaned = drop_invisible(text).replace("@", "＠").replace("<#", "<＃")
    return cut(cleaned, limit)
