"""The shape every tool shares: one pydantic model is both the LLM's schema and the validation.

A tool's arguments are described once, on its `Args` model (field descriptions included). The
JSON schema the LLM sees is generated from that model, and `Tool.run` validates the LLM's raw
arguments against it before the handler sees them, so a handler only ever gets typed, checked
arguments and never repeats the check.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.call_session import CallSession

A = TypeVar("A", bound=BaseModel)
Handler = Callable[[CallSession, A], Awaitable[dict[str, Any]]]


def _always(_: CallSession) -> bool:
    return True


class NoArgs(BaseModel):
    """Arguments of a tool that takes none: anything the LLM invents is refused."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Tool(Generic[A]):
    """A tool: its arguments model (the schema the LLM sees) and the handler that runs it."""

    name: str
    description: str
    handler: Handler[A]
    args: type[A] = NoArgs  # type: ignore[assignment]
    # False when the tool's own effect (e.g. hanging up) should not be followed by more LLM text.
    run_llm_after: bool = True
    available: Callable[[CallSession], bool] = field(default=_always)

    @cached_property
    def schema(self) -> dict[str, Any]:
        """The arguments as a self-contained JSON schema object, as function calling wants it."""
        return llm_schema(self.args)

    @property
    def properties(self) -> dict[str, Any]:
        """JSON schema of each argument, by name."""
        return self.schema.get("properties", {})

    @property
    def required(self) -> list[str]:
        """Arguments the LLM must give."""
        return self.schema.get("required", [])

    async def run(self, session: CallSession, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validate the LLM's raw arguments, then run the handler; bad input gets an error."""
        parsed = parse_args(self.args, arguments)
        if isinstance(parsed, dict):
            return parsed
        return await self.handler(session, parsed)


def llm_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema with references inlined and pydantic's titles dropped."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[1]]))
            return {
                k: {name: resolve(sub) for name, sub in v.items()}
                if k == "properties"
                else resolve(v)
                for k, v in node.items()
                if k != "title"
            }
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    schema = resolve(schema)
    for name, prop in schema.get("properties", {}).items():
        # Optional[X] is "X, may be omitted" to the LLM; a null it sends is still accepted.
        variants = prop.get("anyOf", [])
        if len(variants) == 2 and {"type": "null"} in variants:
            (kept,) = [v for v in variants if v != {"type": "null"}]
            rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
            schema["properties"][name] = kept | rest
    schema.pop("additionalProperties", None)
    schema.pop("description", None)  # the model's docstring; the tool has its own description
    return schema


def error(message: str, **extra: Any) -> dict[str, Any]:
    """A structured failure the bot can read back to the caller."""
    return {"ok": False, "error": message, **extra}


def parse_args(model: type[A], arguments: dict[str, Any]) -> A | dict[str, Any]:
    """Validate LLM arguments; return the model, or an `error(...)` dict naming the bad field."""
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"]) or "arguments"
        reason = first["msg"].removeprefix("Value error, ")
        return error(f"The {field_name} given was not valid: {reason}.", field=field_name)
