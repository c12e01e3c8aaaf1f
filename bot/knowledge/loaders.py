"""Read guide files into sections with a heading path, plus metadata.

Formats: Markdown (front matter optional), reStructuredText (over/underlined titles), plain text,
HTML and PDF. Every loader yields `Section(path=[title, heading, subheading...], text)`. Text is
data: HTML comments (a common hiding place for injected instructions), scripts, text hidden from
readers and invisible characters are removed here, at ingest, and so are the sentences that are not
advice (`screen.py`: instructions to a model, requests to send data or money somewhere), which the
loaded guide lists in `dropped` for the ingest report. Titles and headings are plain text.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.errors import InputError
from bot.knowledge.screen import judge, screen_text
from bot.textsafe import drop_invisible, link_text

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
    dropped: list[dict[str, str]] = field(default_factory=list)  # sentences that are not advice (screen.py)


def load_guide(path: Path, raw: bytes) -> LoadedGuide:
    """The guide's sections with plain titles and headings, without the sentences that are not advice."""
    return _screened(path, _load(path, raw))


def _load(path: Path, raw: bytes) -> LoadedGuide:
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
    return drop_invisible(_HTML_COMMENT.sub("", text))


def _screened(path: Path, guide: LoadedGuide) -> LoadedGuide:
    """Titles and headings as plain text; sentences that address a model or solicit data are dropped and
    listed on the guide (with the heading they stood under) for the ingest report."""
    dropped: list[dict[str, str]] = []

    def keep_heading(text: str, where: str) -> bool:
        reason = judge(text)
        if reason is not None:
            dropped.append({"section": where, "text": text, "reason": reason})
        return reason is None

    title = _plain_heading(guide.title)
    if not keep_heading(title, "title"):
        title = _title_from_name(path)
    sections = []
    for section in guide.sections:
        headings = [_plain_heading(h) for h in section.path[1:]]
        where = " > ".join([title, *headings])
        headings = [h for h in headings if keep_heading(h, where)]
        text, flags = screen_text(section.text)
        dropped += [{"section": where, "text": f.text, "reason": f.reason} for f in flags]
        if text.strip():
            sections.append(Section([title, *headings], text))
    unique = {(d["section"], d["text"]): d for d in dropped}  # a heading is judged once per section under it
    guide.title, guide.sections, guide.dropped = title, sections, list(unique.values())
    return guide


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


ASKED_PER_SECTION = 5
ASKED_MAX_CHARS = 200


def asked_questions(meta: dict[str, Any]) -> dict[str, list[str]]:
    """A guide's `asked:` front matter: its own heading (plain text) -> the questions users ask when that
    section is the answer (used for search only, never shown). Anything malformed is skipped; at most
    ASKED_PER_SECTION questions of at most ASKED_MAX_CHARS characters each per heading."""
    raw = meta.get("asked") if isinstance(meta, dict) else None
    if not isinstance(raw, dict):
        return {}
    out: dict[str, list[str]] = {}
    for heading, questions in raw.items():
        if not isinstance(heading, str) or not isinstance(questions, list):
            continue
        kept = [re.sub(r"\s+", " ", q).strip() for q in questions if isinstance(q, str)]
        kept = [q for q in kept if 3 <= len(q) <= ASKED_MAX_CHARS][:ASKED_PER_SECTION]
        if kept:
            out[_plain_heading(heading)] = kept
    return out


def _plain_heading(text: str) -> str:
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = re.sub(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)", "", text)
    return link_text(text).strip()


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

_HTML_DROP = ["script", "style", "noscript", "template", "nav", "footer", "iframe", "svg", "form"]
_HTML_BLOCKS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "dt", "dd"}
_HTML_OWN_LINE = {"h1", "h2", "h3", "h4", "h5", "h6", "li"}  # a line of their own even inside another block
_CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_CSS_SIMPLE = re.compile(r"^([.#])(-?[A-Za-z_][\w-]*)$")


def _load_html(path: Path, text: str) -> LoadedGuide:
    """Headings, paragraphs and list items of the page, in one pass over the tree (linear in its size,
    however deep the nesting). Text hidden from readers (the `hidden` attribute, display:none,
    visibility:hidden, font-size:0, opacity:0, inline or through a simple class or id rule) is dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    hidden_classes, hidden_ids = _hidden_selectors(soup)
    for tag in soup(_HTML_DROP):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    meta = {}
    for m in soup.find_all("meta"):
        name = (m.get("name") or m.get("property") or "").lower()
        if name in ("description", "keywords", "author") and m.get("content"):
            meta[name] = m["content"]
    if soup.title:
        soup.title.decompose()

    def hidden(tag) -> bool:
        return (tag.has_attr("hidden") or _hides(tag.get("style") or "")
                or bool(hidden_classes.intersection(tag.get("class") or ()))
                or (tag.get("id") or "") in hidden_ids)

    lines = _html_lines(soup.body or soup, hidden)
    guide = _load_markdown(path, "\n".join(lines), fmt="html")
    if title:
        guide.title = title
        for s in guide.sections:
            s.path[0] = title
    guide.meta.update(meta)
    return guide


def _html_lines(root: Any, hidden: Any) -> list[str]:
    """Markdown-ish lines of the blocks under `root`: an iterative walk that skips hidden subtrees."""
    from bs4 import Comment, NavigableString, Tag

    lines: list[str] = []
    words: list[str] = []
    blocks: list[list[Any]] = []  # open blocks: [name, lines emitted so far]

    def emit() -> None:
        content = " ".join(words)
        words.clear()
        if not content:
            return
        name = blocks[-1][0] if blocks else "p"
        first = blocks[-1][1] == 0 if blocks else True
        if blocks:
            blocks[-1][1] += 1
        if name[0] == "h" and name[1:].isdigit():
            lines.extend(["", f"{'#' * int(name[1:])} {content}", ""])
        elif name == "li":
            lines.append(f"- {content}" if first else f"  {content}")
        else:
            lines.extend([content, ""])

    stack: list[tuple[Any, Any, bool]] = [(root, iter(root.children), False)]
    while stack:
        node, children, opened = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if opened:
                emit()
                blocks.pop()
            continue
        if isinstance(child, NavigableString):
            if not isinstance(child, Comment):
                words.extend(str(child).split())
            continue
        if not isinstance(child, Tag) or hidden(child):
            continue
        opens = child.name in _HTML_BLOCKS and (not blocks or child.name in _HTML_OWN_LINE)
        if opens:
            emit()  # what the enclosing block said so far comes first
            blocks.append([child.name, 0])
        stack.append((child, iter(child.children), opens))
    emit()
    return lines


def _hides(style: str) -> bool:
    """Whether CSS declarations hide an element from readers."""
    for declaration in style.split(";"):
        prop, _, value = declaration.partition(":")
        prop, value = prop.strip().lower(), value.lower().replace("!important", "").strip()
        if (prop == "display" and value == "none") or (prop == "visibility" and value in ("hidden", "collapse")):
            return True
        if prop in ("font-size", "opacity") and re.fullmatch(r"0*(\.0*)?([a-z]{1,4}|%)?", value or "x"):
            return True
    return False


def _hidden_selectors(soup: Any) -> tuple[set[str], set[str]]:
    """Classes and ids that a <style> block hides with a simple rule (`.note { display: none }`)."""
    classes: set[str] = set()
    ids: set[str] = set()
    for style in soup.find_all("style"):
        for selectors, body in _CSS_RULE.findall(style.get_text()):
            if not _hides(body):
                continue
            for selector in selectors.split(","):
                m = _CSS_SIMPLE.match(selector.strip())
                if m:
                    (classes if m.group(1) == "." else ids).add(m.group(2))
    return classes, ids


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
