"""Logging to a rotating file in the data dir; only warnings reach the terminal.

Policy: log ids, sizes, counts, durations and error classes. Never a question, a guide's text,
an uploaded cell, a person's figures or a secret. A redaction filter masks the configured secrets
anyway, as a last line of defence.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import uuid

from bot.config import Settings

_configured: dict[str, logging.Handler] = {}


class _NoTraceback(logging.Filter):
    """Tracebacks belong in the log file; the terminal gets the front's one-line message."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None


class _Redact(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            if any(s in msg for s in self.secrets):
                for s in self.secrets:
                    msg = msg.replace(s, "[redacted]")
                record.msg, record.args = msg, None
        return True


def setup_logging(settings: Settings, *, verbose: bool = False, stderr: bool = True) -> None:
    """Configure the root logger once per process (safe to call again with new settings)."""
    root = logging.getLogger()
    for handler in _configured.values():
        root.removeHandler(handler)
    _configured.clear()
    root.setLevel(logging.DEBUG if verbose else getattr(logging, settings.logging.level))
    redact = _Redact([settings.secret("discord_token") or "", settings.secret("openai_api_key") or ""])
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(
            settings.log_file, maxBytes=settings.logging.max_bytes, backupCount=settings.logging.backups,
            encoding="utf-8",
        )
        fh.setFormatter(fmt)
        fh.addFilter(redact)
        root.addHandler(fh)
        _configured["file"] = fh
    except OSError:
        pass  # a read-only data dir must not stop the bot; warnings still reach stderr
    if stderr:
        sh = logging.StreamHandler(sys.stderr)
        sh.setLevel(logging.DEBUG if verbose else logging.WARNING)
        sh.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        sh.addFilter(redact)
        sh.addFilter(_NoTraceback())
        root.addHandler(sh)
        _configured["stderr"] = sh
    for noisy in ("httpx", "httpcore", "chromadb", "urllib3", "discord.gateway", "matplotlib", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def new_error_id() -> str:
    return uuid.uuid4().hex[:8]
