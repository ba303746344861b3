"""The shape every tool shares, and validation of the LLM's arguments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.call_session import CallSession

T = TypeVar("T", bound=BaseModel)
Handler = Callable[[CallSession, dict[str, Any]], Awaitable[dict[str, Any]]]


def _always(_: CallSession) -> bool:
    return True


@dataclass(frozen=True)
class Tool:
    """A tool: the JSON schema the LLM sees, and the handler that runs it."""

    name: str
    description: str
    properties: dict[str, Any]
    required: list[str]
    handler: Handler
    # False when the tool's own effect (e.g. hanging up) should not be followed by more LLM text.
    run_llm_after: bool = True
    available: Callable[[CallSession], bool] = field(default=_always)


class NoArgs(BaseModel):
    """Arguments of a tool that takes none: anything the LLM invents is refused."""

    model_config = ConfigDict(extra="forbid")


def error(message: str, **extra: Any) -> dict[str, Any]:
    """A structured failure the bot can read back to the caller."""
    return {"ok": False, "error": message, **extra}


def parse_args(model: type[T], arguments: dict[str, Any]) -> T | dict[str, Any]:
    """Validate LLM arguments; return the model, or an `error(...)` dict naming the bad field."""
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"]) or "arguments"
        reason = first["msg"].removeprefix("Value error, ")
        return error(f"The {field_name} given was not valid: {reason}.", field=field_name)
