"""Log configuration: one line per event, no caller details, no Pipecat debug chatter.

Pipecat's DEBUG output includes transcripts and LLM messages, so it is never shown, whatever
LOG_LEVEL says. Our own code logs masked numbers (`bot.pii`) and call ids, never names or words.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

_LEVELS = {"TRACE": 5, "DEBUG": 10, "INFO": 20, "SUCCESS": 25, "WARNING": 30, "ERROR": 40}


def configure_logging(level: str) -> None:
    """Send logs to stderr at `level`, with Pipecat capped at INFO."""
    threshold = _LEVELS.get(level.upper(), 20)

    def keep(record: Record) -> bool:
        level: int = record["level"].no
        if (record["name"] or "").startswith("pipecat"):
            return level >= max(threshold, _LEVELS["INFO"])
        return level >= threshold

    logger.remove()
    logger.add(
        sys.stderr,
        level=threshold,  # below it loguru drops a call before building the record
        filter=keep,
        format="{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {name}:{line} | {message}",
        backtrace=False,
        diagnose=False,  # diagnose would print local variables, which may hold caller details
    )


# Pipecat logs at DEBUG while its modules import, before settings are read; quiet it from the
# first import of this module (server.py imports it before anything from Pipecat).
configure_logging("INFO")
