"""Split loaded guides into chunks: by heading first (keeping the heading path), then by size.

A chunk's id is the hash of its heading path and text, so unchanged content keeps its id
(re-ingest adds nothing) and identical guides share chunks instead of duplicating them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.knowledge.loaders import LoadedGuide

SECTION_SEP = " > "


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    section: str  # heading path from the guide title down, joined by " > "
    position: int

    @property
    def embed_text(self) -> str:
        """What the embedding model sees: the heading path gives the passage its context."""
        return f"{self.section}\n{self.text}"


def chunk_id(section: str, text: str) -> str:
    norm = re.sub(r"\s+", " ", f"{section}\n{text}").strip().lower()
    return "c-" + hashlib.sha256(norm.encode("utf-8")).hexdigest()[:32]


def split_guide(guide: LoadedGuide, *, chunk_chars: int, overlap: int) -> list[Chunk]:
    splitter = None
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in guide.sections:
        path = SECTION_SEP.join(p for p in section.path if p)
        text = re.sub(r"\n{3,}", "\n\n", section.text).strip()
        if not text:
            continue
        if len(text) <= chunk_chars:
            pieces = [text]
        else:
            if splitter is None:
                from langchain_text_splitters import RecursiveCharacterTextSplitter

                splitter = RecursiveCharacterTextSplitter(
                    chunk_size=chunk_chars, chunk_overlap=min(overlap, chunk_chars // 3),
                    separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""], keep_separator="end",
                )
            pieces = [p.strip() for p in splitter.split_text(text) if p.strip()]
        for piece in pieces:
            cid = chunk_id(path, piece)
            if cid in seen:
                continue
            seen.add(cid)
            chunks.append(Chunk(id=cid, text=piece, section=path, position=len(chunks)))
    return chunks
