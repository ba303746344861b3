"""Each tool's schema is generated from its arguments model: one source, no drift."""

from __future__ import annotations

import pytest

from tools import ALL_TOOLS
from tools.base import NoArgs, Tool, llm_schema


@pytest.mark.parametrize("tool", ALL_TOOLS, ids=lambda t: t.name)
def test_schema_is_the_models(tool: Tool) -> None:
    fields = tool.args.model_fields
    assert set(tool.properties) == set(fields)
    assert set(tool.required) == {name for name, f in fields.items() if f.is_required()}
    assert tool.schema["type"] == "object"
    for name, prop in tool.properties.items():
        assert "title" not in prop and "anyOf" not in prop, name
        assert prop.get("description") or prop.get("enum"), f"{tool.name}.{name} is undescribed"


def test_nested_references_are_inlined_and_optional_means_omittable() -> None:
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field

    class Where(BaseModel):
        street: str = Field(description="street")

    class Args(BaseModel):
        model_config = ConfigDict(extra="forbid")
        where: Where
        title: str = Field(description="a property really called title")
        kind: Literal["a", "b"] | None = None

    schema = llm_schema(Args)
    assert "$defs" not in str(schema) and "$ref" not in str(schema)
    assert schema["properties"]["where"]["properties"]["street"]["type"] == "string"
    assert schema["properties"]["title"]["type"] == "string"
    assert schema["properties"]["kind"] == {"enum": ["a", "b"], "type": "string"}
    assert schema["required"] == ["where", "title"]


async def test_run_validates_once_before_the_handler() -> None:
    seen: list[object] = []

    async def handler(session, args):
        seen.append(args)
        return {"ok": True}

    tool = Tool(name="t", description="d", handler=handler)
    refused = await tool.run(None, {"invented": 1})  # type: ignore[arg-type]
    assert refused["ok"] is False and "invented" in refused["error"] and not seen
    assert (await tool.run(None, {}))["ok"] is True  # type: ignore[arg-type]
    assert isinstance(seen[0], NoArgs)
