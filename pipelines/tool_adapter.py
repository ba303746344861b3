"""Turns our tools into Pipecat function schemas, and records every call in the database."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.frames.frames import FunctionCallResultProperties
from pipecat.services.llm_service import FunctionCallParams

from bot.call_session import CallSession
from bot.storage import utc_now
from tools.base import Tool, error

MAX_ARGUMENT_BYTES = 8_000


def function_schemas(session: CallSession, tools: list[Tool]) -> list[FunctionSchema]:
    """One FunctionSchema per tool, each carrying a handler bound to this call."""
    return [
        FunctionSchema(
            name=tool.name,
            description=tool.description,
            properties=tool.properties,
            required=tool.required,
            handler=_bind(session, tool),
        )
        for tool in tools
    ]


def _bind(session: CallSession, tool: Tool):
    async def handler(params: FunctionCallParams) -> None:
        started_at, t0 = utc_now(), time.perf_counter()
        arguments: dict[str, Any] = dict(params.arguments or {})
        if len(json.dumps(arguments, default=str)) > MAX_ARGUMENT_BYTES:
            result = error("The details given were far too long. Please ask again, briefly.")
            arguments = {"_truncated": True}
        else:
            try:
                result = await tool.run(session, arguments)
            except Exception as exc:  # an unexpected bug must not leave the LLM waiting
                logger.exception("tool {} failed: {}", tool.name, type(exc).__name__)
                result = error("Something went wrong on our side with that request.")
        duration_ms = (time.perf_counter() - t0) * 1000
        # Shielded: a tool that ends the call makes Pipecat cancel this handler, and the record
        # of the tool call must be written all the same.
        await asyncio.shield(
            session.store.add_tool_call(
                session.call_id,
                name=tool.name,
                tool_call_id=params.tool_call_id,
                arguments=arguments,
                result=result,
                ok=bool(result.get("ok")),
                started_at=started_at,
                duration_ms=duration_ms,
            )
        )
        await session.emit(
            "tool_call",
            {
                "name": tool.name,
                "arguments": arguments,
                "result": result,
                "duration_ms": round(duration_ms, 1),
            },
        )
        run_llm = tool.run_llm_after or not result.get("ok")
        await params.result_callback(
            result, properties=FunctionCallResultProperties(run_llm=run_llm)
        )

    handler.__name__ = f"handle_{tool.name}"
    return handler
