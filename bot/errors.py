"""Typed errors of the core.

A `UserError` is safe to show: its message names what is wrong and what to do. Fronts render it
(the CLI exits 2, Discord replies privately). Anything else is a bug: fronts log the traceback
and show a short apology with an error id.
"""

from __future__ import annotations


class UserError(Exception):
    """An error caused by input or configuration, with a message a person can act on."""

    code = "user_error"
    exit_code = 2

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": str(self)}


class ConfigError(UserError):
    code = "config"


class UsageError(UserError):
    code = "usage"


class NotFound(UserError):
    code = "not_found"


class InputError(UserError):
    """Bad user input: a file that cannot be read, an unknown value, a limit reached."""

    code = "bad_input"


class LimitExceeded(InputError):
    code = "limit"


class TargetNeeded(InputError):
    """A scope could not tell which column to predict: the user must name one."""

    code = "target_needed"


class KnowledgeIndexError(UserError):
    """The knowledge index is missing, built with another model, or unreachable."""

    code = "index"


class Busy(UserError):
    code = "busy"


class Cancelled(UserError):
    """A job stopped because its user (or the front) asked for it."""

    code = "cancelled"


class Forbidden(UserError):
    code = "forbidden"
