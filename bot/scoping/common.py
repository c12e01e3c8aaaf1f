"""Small shared pieces: warnings, display-safe names and cells, number formatting.

Every column name and cell that reaches an output goes through `Names.show` / `show_cell`
(which use bot.textsafe); raw values stay inside computations.
"""

from __future__ import annotations

import math
from typing import Any

from bot.textsafe import display_cell, display_name

WARNING_CODES = (
    "leakage", "id_column", "constant_column", "high_missing", "duplicate_rows", "class_imbalance",
    "rare_class", "small_sample", "high_cardinality", "datetime_present", "mixed_types", "numbers_as_text",
    "encoding_fallback", "encoding_detected", "delimiter_detected", "formula_cells", "compressed_input",
    "nul_bytes", "infinite_values", "numeric_overflow", "duplicate_columns", "unnamed_columns", "long_cells",
    "malformed_rows", "preamble_skipped", "duplicate_timestamps", "unsorted_timestamps", "wide_data",
    "free_text", "missing_target", "time_budget", "no_features",
    # messy exports, leakage and validation structure (scope-data)
    "missing_markers", "summary_rows", "leak_post_outcome", "leak_missingness", "leak_identifier", "leak_entity",
    "leak_future", "cv_not_honoured", "entity_rows",
    # layouts read into the long form (bot/scoping/layout.py)
    "wide_layout", "date_parts_combined", "numeric_dates",
    # a target's class labels spelt several ways ("Yes", "yes ", "Y")
    "labels_merged", "multi_label", "zero_inflated",
    # study-design cues (bot/scoping/design.py)
    "censored_outcome", "experiment_design", "ordered_classes", "spatial_data",
)


def warning(code: str, column: str | None, message: str) -> dict[str, Any]:
    """One report warning; `column` must already be display-safe (from Names.show) or None."""
    if code not in WARNING_CODES:  # a typo here would break the stable contract
        raise ValueError(f"unknown warning code {code!r}")
    return {"code": code, "column": column, "message": message}


class Names:
    """Raw column name -> unique display-safe name (two raw names never show the same)."""

    def __init__(self, raw_names: list[str]):
        self._show: dict[str, str] = {}
        seen: dict[str, int] = {}
        for raw in raw_names:
            shown = display_name(raw)
            key = shown
            if key in seen:
                seen[key] += 1
                shown = display_name(f"{shown} [{seen[key]}]")
            else:
                seen[key] = 1
            self._show[raw] = shown

    def show(self, raw: str) -> str:
        return self._show.get(raw) or display_name(raw)

    def code(self, raw: str) -> str:
        """The name in a markdown code span (backticks were neutralised by display_name)."""
        return f"`{self.show(raw)}`"

    def many(self, raws: list[str], limit: int = 5) -> str:
        shown = ", ".join(self.code(r) for r in raws[:limit])
        more = len(raws) - limit
        return shown + (f" and {more:,} more" if more > 0 else "")


def show_cell(value: Any, limit: int = 40) -> str:
    """A cell value in a code span, display-safe."""
    return f"`{display_cell(value, limit)}`"


def fmt_int(n: int | float) -> str:
    return f"{int(n):,}"


def fmt_bytes(n: int | float) -> str:
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


def fmt_share(part: float, whole: float) -> str:
    """A percentage that never rounds a non-zero share to 0% or a partial one to 100%."""
    if whole <= 0:
        return "0%"
    share = part / whole
    if 0 < share < 0.001:
        return "<0.1%"
    text = f"{share:.1%}" if share < 0.1 else f"{share:.0%}"
    if text == "100%" and part < whole:
        text = "99.9%" if share >= 0.999 else f"{share:.1%}"
    return text


def finite_or_none(x: Any, digits: int = 4) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return round(f, digits) if math.isfinite(f) else None
