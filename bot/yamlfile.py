"""Declarative YAML files (config, skill cards, rate cards): reading them, and validation errors that
name the file, the key and what is allowed."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

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


def config_error(exc: ValidationError, where: str, model: type[BaseModel], *, most: int = 5) -> ConfigError:
    """One ConfigError for a failed validation of `model`: each problem names its dotted key and, for
    an unknown key, the keys allowed there; `where` names the file ("rate card uk.yaml")."""
    errors = exc.errors()
    problems = [_problem(err, model) for err in errors[:most]]
    more = f" (and {len(errors) - most} more)" if len(errors) > most else ""
    return ConfigError(f"{where}: " + "; ".join(problems) + more)


def _problem(err: Any, model: type[BaseModel]) -> str:
    loc = tuple(err["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        section = ".".join(str(p) for p in loc[:-1])
        allowed = allowed_keys(model, loc[:-1])
        return f"unknown key '{key}'" + (f" (allowed in {section or 'the top level'}: {allowed})" if allowed else "")
    got = err.get("input")
    shown = "" if isinstance(got, dict) else f" (got {repr(got)[:60]})"
    return f"'{key}': {err['msg'].removeprefix('Value error, ')}{shown}"


def allowed_keys(model: type[BaseModel], loc: tuple) -> str:
    """The keys allowed at `loc` (list indexes and mapping keys are stepped over), or "" when unknown."""
    current: type[BaseModel] | None = model
    inside: type[BaseModel] | None = None  # the item model of a list or mapping whose index comes next
    for part in loc:
        if inside is not None:
            current, inside = inside, None
            continue
        field = current.model_fields.get(str(part)) if current is not None else None
        if field is None:
            return ""
        current, contained = _model_of(field.annotation)
        if contained:
            current, inside = None, current
        if current is None and inside is None:
            return ""
    if current is None:
        return ""
    return ", ".join(k for k, f in current.model_fields.items() if not f.exclude)


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model an annotation holds, and whether it holds it in a list or mapping."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        models = [m for m in (_model_of(a) for a in args if a is not type(None)) if m[0] is not None]
        return models[0] if len(models) == 1 else (None, False)
    if origin in (list, tuple, set, frozenset) and args:
        return _model_of(args[0])[0], True
    if origin is dict and len(args) == 2:
        return _model_of(args[1])[0], True
    return None, False
