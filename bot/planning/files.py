"""Writing a plan's outputs for the terminal fronts (the PNG bytes; the calendar text byte for byte, CRLF kept)."""

from __future__ import annotations

from pathlib import Path


def write_output(path: Path, data: bytes | str) -> None:
    """Write `data` to `path`, creating its folder; an OSError is the caller's to report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")
