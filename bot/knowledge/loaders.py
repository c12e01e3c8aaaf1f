"""Read guide files into sections with a heading path, plus metadata.

Formats: Markdown (front matter optional), reStructuredText (over/underlined titles), plain text,
HTML and PDF. Every loader yields `Section(path=[title, heading, subheading...], text)`. Text is
data: HTML comments (a common hiding place for injected instructions), scripts and invisible
characters are removed here, at ingest.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.errors import InputError

FRONT_MATTER_KEYS = ("title", "topic", "tags", "jurisdiction", "updated", "url", "sources")


@dataclass
class Section:
    path: list[str]
    text: str


@dataclass
class LoadedGuide:
    title: str
    sections: list[Section]
    meta: dict[str, Any] = field(default_factory=dict)


def load_guide(path: Path, raw: bytes) -> LoadedGuide:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _load_pdf(path, raw)
    text = decode_text(raw, path.name)
    if suffix in (".md", ".markdown"):
        return _load_markdown(path, text)
    if suffix == ".rst":
        return _load_markdown(path, rst_to_markdown(text), fmt="rst")
    if suffix in (".html", ".htm"):
        return _load_html(path, text)
    return _load_text(path, text)


# Text hygiene -------------------------------------------------------------------------------

_HTML_COMMENT = re.compile(r"<!--.*?(-->|$)", re.S)


def decode_text(raw: bytes, name: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return clean_text(raw.decode("utf-16"))
    if b"\x00" in raw[:4096]:
        raise InputError(f"{name} looks like a binary file, not text.", hint="Export it as .md, .txt, .html or .pdf.")
    try:
        return clean_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return clean_text(raw.decode("cp1252", errors="replace"))


def clean_text(text: str) -> str:
    """Drop HTML comments and invisible/control characters; normalise line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HTML_COMMENT.sub("", text)
    return "".join(
        ch for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )


# Markdown ------------------------------------------------------------------------------------

_FM = re.compile(r"\A---[ \t]*\n(.*?)\n(---|\.\.\.)[ \t]*(\n|\Z)", re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    m = _FM.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return {}, text  # not front matter after all; keep the text as it is
    if not isinstance(meta, dict):
        return {}, text
    return meta, text[m.end():]


def _load_markdown(path: Path, text: str, fmt: str = "md") -> LoadedGuide:
    meta, body = split_front_matter(text) if fmt == "md" else ({}, text)
    title = _meta_str(meta.get("title"))
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    h1_seen = False
    in_fence = False

    def flush():
        content = "\n".join(buf).strip()
        buf.clear()
        if content:
            sections.append(Section([h for _, h in stack], content))

    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if not m:
            buf.append(line)
            continue
        flush()
        level, heading = len(m.group(1)), _plain_heading(m.group(2))
        if level == 1 and not h1_seen and (not title or _same(heading, title) or not stack):
            h1_seen = True
            title = title or heading
            stack = []
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
    flush()
    title = title or _title_from_name(path)
    for s in sections:
        s.path = [title, *s.path]
    return LoadedGuide(title=title, sections=sections, meta=_clean_meta(meta))


def _plain_heading(text: str) -> str:
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = re.sub(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return text.strip()


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", "", a.lower()) == re.sub(r"\W+", "", b.lower())


def _meta_str(value: Any) -> str:
    return str(value).strip() if value not in (None, "") else ""


def _clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Front matter as metadata: known keys normalised, unknown keys kept as they are."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        key = str(key)
        if key == "tags" and isinstance(value, str):
            value = [t.strip() for t in value.split(",") if t.strip()]
        if key in ("updated", "title", "topic", "jurisdiction", "url") and value is not None:
            value = str(value)
        out[key] = value
    return out


def _title_from_name(path: Path) -> str:
    stem = re.sub(r"[-_]+", " ", path.stem).strip()
    return stem[:1].upper() + stem[1:] if stem else path.name


# reStructuredText ------------------------------------------------------------------------------

_ADORN = re.compile(r"^([=\-~^\"'`#*+:._])\1{2,}\s*$")
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::\s*(.*)$")
_DROP_DIRECTIVES = {"image", "figure", "raw", "include", "toctree", "currentmodule", "module", "autosummary",
                    "automodule", "autoclass", "autofunction", "highlight", "index", "only", "plot", "math",
                    "literalinclude", "testcode", "testsetup", "doctest", "csv-table", "list-table", "table"}
_CODE_DIRECTIVES = {"code", "code-block", "sourcecode", "parsed-literal"}
_ROLE = re.compile(r":[\w:+-]+:`([^`<]*?)(?:\s*<[^>]*>)?`")
_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_{1,2}")
_LITERAL = re.compile(r"``([^`]+)``")


def _rst_inline(line: str) -> str:
    line = _ROLE.sub(lambda m: m.group(1).lstrip("~!"), line)
    line = _LINK.sub(r"\1", line)
    line = _LITERAL.sub(r"\1", line)
    return re.sub(r"(?<!\w)`([^`]+)`_?", r"\1", line)


def rst_to_markdown(text: str) -> str:
    """Turn reStructuredText into Markdown enough for splitting and quoting.

    Over/underlined titles become headings (levels by order of first use); literal blocks (`::`) and code
    directives become fenced code (never quoted as sentences); images, tables of contents, targets and
    directive options are dropped; roles and links keep their text; admonitions keep their content.
    """
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []
    out: list[str] = []
    i = 0
    n = len(lines)

    def indented_block(start: int) -> tuple[list[str], int]:
        """The indented lines (and blank lines inside) from `start`; returns them and the next index."""
        block, j = [], start
        while j < n and (not lines[j].strip() or lines[j].startswith((" ", "\t"))):
            block.append(lines[j])
            j += 1
        while block and not block[-1].strip():
            block.pop()
            j -= 1
        return block, j

    while i < n:
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < n else ""
        after = lines[i + 2] if i + 2 < n else ""
        directive = _DIRECTIVE.match(line)
        if directive and not directive.group(1):
            name, arg = directive.group(2).lower(), directive.group(3)
            block, j = indented_block(i + 1)
            body = [b for b in block if not re.match(r"^\s*:[\w -]+:", b)]  # directive options
            if name in _DROP_DIRECTIVES:
                pass
            elif name in _CODE_DIRECTIVES:
                out += ["```", *[b.strip() for b in body], "```"]
            else:  # note, warning, topic, admonition...: keep the text, converted the same way
                if arg and name in ("topic", "admonition", "rubric"):
                    out.append(_rst_inline(arg))
                out += rst_to_markdown(textwrap.dedent("\n".join(body))).split("\n")
            i = j
            continue
        if re.match(r"^\s*\.\.\s", line) or line.strip() == "..":  # comments and link targets
            _, i = indented_block(i + 1)
            continue
        if _ADORN.match(line) and nxt.strip() and _ADORN.match(after) and after.strip()[0] == line.strip()[0]:
            style, title, i = (line.strip()[0], True), nxt.strip(), i + 3
        elif line.strip() and not _ADORN.match(line) and _ADORN.match(nxt) and len(nxt.strip()) >= len(line.strip()):
            style, title, i = (nxt.strip()[0], False), line.strip(), i + 2
        else:
            stripped = line.rstrip()
            if stripped.endswith("::") and not stripped.lstrip().startswith(".."):
                keep = stripped[:-2].rstrip()
                if keep.endswith(":"):
                    keep = keep[:-1]
                if keep.strip():
                    out.append(_rst_inline(keep + (":" if not keep.rstrip().endswith((".", ":")) else "")))
                block, j = indented_block(i + 1)
                out += ["```", *[b.strip() for b in block if b.strip()], "```"]
                i = j
                continue
            if re.match(r"^\s*(>>>|\.\.\.)\s", line):  # a doctest outside a literal block
                out.append("```")
                while i < n and lines[i].strip():
                    out.append(lines[i].strip())
                    i += 1
                out.append("```")
                continue
            out.append(_rst_inline(line))
            i += 1
            continue
        if style not in styles:
            styles.append(style)
        out.append(f"{'#' * min(styles.index(style) + 1, 6)} {_rst_inline(title)}")
    return "\n".join(out)


# HTML -------------------------------------------------------------------------------------------


def _load_html(path: Path, text: str) -> LoadedGuide:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer", "iframe", "svg", "form"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    lines: list[str] = []
    body = soup.body or soup
    for el in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "dt", "dd"]):
        if el.find_parent(["p", "li", "pre", "blockquote", "td", "dd"]) is not None and el.name not in ("li",):
            continue
        content = el.get_text(" ", strip=True)
        if not content:
            continue
        if el.name[0] == "h" and el.name[1:].isdigit():
            lines.append("")
            lines.append(f"{'#' * int(el.name[1:])} {content}")
            lines.append("")
        elif el.name == "li":
            lines.append(f"- {content}")
        else:
            lines.append(content)
            lines.append("")
    meta = {}
    for m in soup.find_all("meta"):
        name = (m.get("name") or m.get("property") or "").lower()
        if name in ("description", "keywords", "author") and m.get("content"):
            meta[name] = m["content"]
    guide = _load_markdown(path, "\n".join(lines), fmt="html")
    if title:
        guide.title = title
        for s in guide.sections:
            s.path[0] = title
    guide.meta.update(meta)
    return guide


# Plain text and PDF ------------------------------------------------------------------------------


def _load_text(path: Path, text: str) -> LoadedGuide:
    title = _title_from_name(path)
    lines = text.strip().split("\n")
    if lines and 0 < len(lines[0].strip()) <= 100 and (len(lines) == 1 or not lines[1].strip()):
        title = lines[0].strip().strip("#").strip() or title
        text = "\n".join(lines[1:])
    # A line underlined with === or --- is a heading in many plain-text guides.
    guide = _load_markdown(path, rst_to_markdown(text), fmt="txt")
    guide.title = title
    for s in guide.sections:
        s.path[0] = title
    return guide


def _load_pdf(path: Path, raw: bytes) -> LoadedGuide:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise InputError(f"{path.name} is an encrypted PDF.", hint="Export an unprotected copy and add that.")
        pages = [(i + 1, clean_text(p.extract_text() or "")) for i, p in enumerate(reader.pages)]
        info_title = _meta_str((reader.metadata or {}).get("/Title"))
    except InputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(f"{path.name} is not a readable PDF ({exc.__class__.__name__}).",
                         hint="Check the file, or export the guide as Markdown or text.") from None
    title = info_title or _title_from_name(path)
    sections = [Section([title, f"page {n}"], _unwrap(t)) for n, t in pages if t.strip()]
    if not sections:
        raise InputError(f"{path.name} has no extractable text (a scanned PDF?).",
                         hint="Add a text version of the guide instead.")
    return LoadedGuide(title=title, sections=sections, meta={})


def _unwrap(text: str) -> str:
    """Join lines broken by PDF layout, keep blank lines as paragraph breaks."""
    text = re.sub(r"-\n(?=[a-z])", "", text)
    text = re.sub(r"(?<![.\n:;!?])\n(?!\n)", " ", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()
