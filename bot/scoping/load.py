"""Safe loading under the limits in `settings.scope`: bytes -> text -> a table of text columns.

Two halves, each guarding the next:
  - `decode.read_text`: size cap, capped gzip inflation, binary formats refused by name, the
    encoding, NUL bytes and other binary content (bytes -> UTF-8 text);
  - `parse.parse`: the delimiter, preamble and header, then the body as text columns with
    malformed rows reported by line (text -> table).
Typing the columns (numbers, dates, categories) is `convert`'s job.
"""

from __future__ import annotations

from typing import Any

from bot.errors import InputError
from bot.scoping.common import fmt_int
from bot.scoping.decode import inflate_gzip, read_text
from bot.scoping.parse import RawTable, parse

__all__ = ["RawTable", "inflate_gzip", "load_table"]


def load_table(*, path: str | None, data: bytes | None, filename: str, limits: Any) -> RawTable:
    """Read a CSV (or .csv.gz) from a path or bytes under `limits` (settings.scope)."""
    text = read_text(path=path, data=data, filename=filename, limits=limits)
    table = parse(text.data, limits, text.info, text.warnings)
    nul = text.info.get("nul_bytes")
    if nul and table.rows < limits.min_rows:
        # A few rows left after removing NUL bytes: the NULs, not the row count, are the problem.
        raise InputError(
            f"the file contains {fmt_int(nul)} NUL byte(s) (\\x00, binary content), and once they are removed only "
            f"{fmt_int(table.rows)} row(s) of data remain: this looks like a damaged export or a binary file, not a "
            "CSV table.", hint="Export the table again as CSV (UTF-8) and upload that.")
    return table
