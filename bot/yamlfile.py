"""Reading declarative YAML files (config, skill cards, rate cards) with errors that name file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.errors import ConfigError


def read_mapping(path: Path, kind: str, expected: str) -> dict[str, Any]:
    """The file's top-level mapping; `kind` names the file in errors ("skill card x.yaml"), `expected`
    says what the mapping should hold. An empty file is an empty mapping."""
    name = f"{kind} {path}" if kind == "config file" else f"{kind} {path.name}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{name} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name} cannot be read ({exc.__class__.__name__}).") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{name}{where}: not valid YAML ({problem}).", hint="Fix the file and run again.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a mapping of {expected}.")
    return data
