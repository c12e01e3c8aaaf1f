"""Display-safe text: names and cells from user files are data, never markup.

`display_name` / `display_cell` are applied to every column name and cell value that any output
shows (JSON included). They remove control, bidi and zero-width characters, cap combining marks,
neutralise mentions (``@`` becomes the full-width ``＠``, so no mention can ever parse), break code
fences and masked links, and mark a leading formula or heading character with a quote. Raw values
stay inside computations.

Discord rendering adds `escape_markdown` (emphasis, spoilers) on top.
"""

from __future__ import annotations

import re
import unicodedata

NAME_MAX = 64
ELLIPSIS = "…"
_FORMULA_START = ("=", "+", "-", "@", "＠", "|", "%")
_BLOCK_START = ("#", ">", "*")
_NUMBER = re.compile(r"^[+-]?(\d[\d,_ ]*)?(\.\d+)?([eE][+-]?\d+)?%?$")
_MD_SPECIAL = re.compile(r"([\\*_~|`>#\[\]()-])")


def strip_invisible(text: str) -> str:
    """Drop control, format (bidi, zero-width, BOM) and separator characters; collapse whitespace."""
    out = []
    marks = 0
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\r\n" or cat in ("Zl", "Zp"):
            out.append(" ")
            marks = 0
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        elif cat in ("Mn", "Me"):
            marks += 1
            if marks <= 2:  # a zalgo flood of combining marks is cut to two per letter
                out.append(ch)
        else:
            out.append(ch)
            marks = 0
    return re.sub(r"\s{2,}", " ", "".join(out)).strip()


def neutralise(text: str) -> str:
    """Make mentions, code fences and masked links inert (in any renderer)."""
    text = text.replace("@", "＠")  # full-width: never parsed as @everyone, <@id> or <@&id>
    text = text.replace("<#", "<＃")
    text = text.replace("`", "ˋ")  # no code-span or fence breakout
    text = text.replace("](", "] (")  # no masked link [text](url)
    text = text.replace("||", "| |")  # no spoiler
    text = re.sub(r"(?i)\b(https?)://", r"\1[:]//", text)  # no clickable or embedded link
    return text


def cut(text: str, limit: int) -> str:
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


def escape_markdown(text: str) -> str:
    """Backslash-escape Discord markdown (for text placed outside code spans)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


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
    cleaned = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    cleaned = cleaned.replace("@", "＠").replace("<#", "<＃")
    return cut(cleaned, limit)
