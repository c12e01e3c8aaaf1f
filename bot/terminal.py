"""What the two terminal fronts (the `mlbot` CLI and the console) share: reading a number a person typed,
writing the scope chart and the plan's files, and the last filter on every text they print."""

from __future__ import annotations

import math
from pathlib import Path

from bot.errors import InputError
from bot.textsafe import no_masked_links


def read_number(text: str, name: str) -> float:
    """A number as people type it ("80000", "80,000", "80_000", "0.3"); InputError naming `name` otherwise."""
    try:
        value = float(str(text).strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise InputError(f"{name} must be a number (got '{str(text)[:20]}').") from None
    if not math.isfinite(value):
        raise InputError(f"{name} must be a finite number (got '{str(text)[:20]}').")
    return value


def write_chart(path: Path, png: bytes, scope_id: str, *, option: str) -> Path:
    """Write the scope's chart; a path that cannot be written is an InputError that keeps the scope id and
    names the front's `option` ("--plot", "plot=")."""
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
    except OSError as exc:
        raise InputError(f"could not write the chart to {path} ({exc.strerror or 'error'}); the scope is saved as "
                         f"{scope_id}.", hint=f"Pick a {option} path in a folder you can write to.") from None
    return path


def write_output(path: Path, data: bytes | str, *, option: str) -> Path:
    """Write a plan's PNG (bytes) or calendar (text, byte for byte: CRLF stays CRLF); a path that cannot be
    written is an InputError naming the front's `option` ("--ics", "ics=")."""
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"could not write {path} ({exc.strerror or 'error'}).",
                         hint=f"Pick a {option} path in a folder you can write to.") from None
    return path


def printable(text: str) -> str:
    """Every text a terminal front prints: no masked link, whatever a guide or a model wrote."""
    return no_masked_links(text)
