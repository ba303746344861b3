"""Fake OpenAI Chat Completions (``POST /v1/chat/completions``) with SSE streaming and tool calls.

A test decides every answer through ``fake.responder(body) -> Reply``; ``ScriptedLLM`` builds such
a responder from a few rules::

    fake.responder = ScriptedLLM(
        [
            Rule(when_user_contains="book", reply=ToolCall("book_appointment", {"when": "tomorrow"})),
            Rule(after_tool="book_appointment", reply=Text("You're booked for tomorrow.")),
        ],
        default=Text("Sorry, could you repeat that?"),
    )
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from aiohttp import web

from ._base import HTTPFake, now

# ---------------------------------------------------------------------------------------------
# Replies


@dataclass
class Text:
    """A plain assistant answer, streamed word by word."""

    text: str


@dataclass
class ToolCall:
    """One function call; ``id`` defaults to a fresh ``call_...`` id."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass
class ToolCalls:
    """Several function calls in one assistant message (parallel tool calls)."""

    calls: list[ToolCall]


Reply: TypeAlias = Text | ToolCall | ToolCalls
Responder: TypeAlias = Callable[[dict[str, Any]], Reply | Awaitable[Reply]]

# ---------------------------------------------------------------------------------------------
# Helpers for reading request bodies


def _content_text(content: Any) -> str:
    """Text of a message ``content`` (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def last_user_text(body: dict[str, Any]) -> str | None:
    """Text of the last ``role: user`` message of a request, or None if there is none."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return None


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """All ``role: tool`` messages of a request, in order."""
    return [m for m in body.get("messages", []) if m.get("role") == "tool"]


def tool_names(body: dict[str, Any]) -> list[str]:
    """Names of the tools offered in ``body["tools"]``."""
    return [t.get("function", {}).get("name", "") for t in body.get("tools") or []]


def tool_name_for_call_id(body: dict[str, Any], tool_call_id: str) -> str | None:
    """Name of the function whose assistant ``tool_calls`` entry has this id."""
    for message in body.get("messages", []):
        for call in message.get("tool_calls") or []:
            if call.get("id") == tool_call_id:
                return call.get("function", {}).get("name")
    return None


# ---------------------------------------------------------------------------------------------
# Scripted responder


@dataclass
class Rule:
    """One rule of a ``ScriptedLLM``.

    - ``when_user_contains``: the last message is a user message containing this text
      (case-insensitive).
    - ``after_tool``: the last message is the result of a call to this tool.
    - neither: matches any request (a catch-all; put it last).
    ``reply`` may be a Reply or a function ``body -> Reply``. ``once=True`` rules fire only once.
    """

    reply: Reply | Callable[[dict[str, Any]], Reply]
    when_user_contains: str | None = None
    after_tool: str | None = None
    once: bool = False
    used: int = 0

    def matches(self, body: dict[str, Any]) -> bool:
        """Whether this rule applies to the request ``body``."""
        if self.once and self.used:
            return False
        messages = body.get("messages") or [{}]
        last = messages[-1]
        if self.after_tool is not None:
            if last.get("role") != "tool":
                return False
            return tool_name_for_call_id(body, last.get("tool_call_id", "")) == self.after_tool
        if self.when_user_contains is not None:
            if last.get("role") != "user":
                return False
            return self.when_user_contains.lower() in _content_text(last.get("content")).lower()
        return True


class ScriptedLLM:
    """A responder from rules: the first matching rule wins, else ``default``."""

    def __init__(self, rules: list[Rule], default: Reply | None = None) -> None:
        self.rules = rules
        self.default: Reply = default or Text("Sorry, could you repeat that?")

    def __call__(self, body: dict[str, Any]) -> Reply:
        for rule in self.rules:
            if rule.matches(body):
                rule.used += 1
                return rule.reply(body) if callable(rule.reply) else rule.reply
        return self.default


# ---------------------------------------------------------------------------------------------
# The fake server


def _error_body(status: int) -> dict[str, Any]:
    kinds = {
        400: ("invalid_request_error", "Invalid request (fake)."),
        401: ("invalid_request_error", "Incorrect API key provided (fake)."),
        403: ("permission_error", "Forbidden (fake)."),
        404: ("invalid_request_error", "The model does not exist (fake)."),
        429: ("rate_limit_exceeded", "Rate limit reached (fake)."),
    }
    kind, message = kinds.get(status, ("server_error", "The server had an error (fake)."))
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


class FakeOpenAI(HTTPFake):
    """OpenAI Chat Completions on ``http://127.0.0.1:PORT/v1``.

    Records: ``requests`` [{t, body, authorization, status}] (every request, including failed
    and hung ones; ``status`` is the HTTP status answered, None while hanging).

    Knobs (restored by ``reset()``): ``responder``, ``first_token_latency_s`` (+ uniform(0,
    ``first_token_jitter_s``)) before the first chunk, and the async ``fail_next`` /
    ``hang_next``. The openai SDK retries 408/409/429/5xx twice by default, so a single
    ``fail_next(500)`` is hidden from a client with default retries.
    """

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []
        self.app.router.add_post("/v1/chat/completions", self._completions)
        self._stopping = asyncio.Event()
        self._set_defaults()

    def _set_defaults(self) -> None:
        self.responder: Responder = lambda body: Text("OK.")
        self.first_token_latency_s = 0.0
        self.first_token_jitter_s = 0.0
        self._failures: list[int] = []
        self._hangs = 0

    @property
    def url(self) -> str:
        """Base URL for ``OpenAILLMService(base_url=...)`` / ``AsyncOpenAI(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def reset(self) -> None:
        """Clear records and restore the default responder, latencies and failure plans."""
        self.requests.clear()
        self._set_defaults()

    async def fail_next(self, status: int, n: int = 1) -> None:
        """Make the next ``n`` requests fail with ``status`` and an OpenAI-style error body."""
        self._failures.extend([status] * n)

    async def hang_next(self, n: int = 1) -> None:
        """Make the next ``n`` requests send nothing at all until the client gives up."""
        self._hangs += n

    async def stop(self) -> None:
        """Release hanging requests, then stop serving."""
        self._stopping.set()
        await super().stop()

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        record: dict[str, Any] = {
            "t": now(),
            "body": body,
            "authorization": request.headers.get("Authorization"),
            "status": None,
        }
        self.requests.append(record)

        if self._failures:
            record["status"] = self._failures.pop(0)
            return web.json_response(_error_body(record["status"]), status=record["status"])
        if self._hangs:
            self._hangs -= 1
            await self._hang(request)
            return web.Response(status=504)  # nobody is listening any more

        reply = self.responder(body)
        if inspect.isawaitable(reply):
            reply = await reply
        record["status"] = 200
        record["reply"] = reply
        chunks = list(_reply_chunks(reply))
        model = str(body.get("model", "fake-model"))
        if not body.get("stream"):
            return web.json_response(_completion_object(chunks, model))
        return await self._stream(request, body, chunks, model)

    async def _hang(self, request: web.Request) -> None:
        """Wait until the client closes the connection (or the fake stops)."""
        while not self._stopping.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(0.05)

    async def _stream(
        self, request: web.Request, body: dict[str, Any], chunks: list[dict[str, Any]], model: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
            }
        )
        await response.prepare(request)
        delay = self.first_token_latency_s + random.uniform(0.0, self.first_token_jitter_s)
        if delay > 0:
            await asyncio.sleep(delay)
        completion_id = "chatcmpl-" + secrets.token_hex(12)
        created = int(time.time())
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        try:
            for choice in chunks:
                event = _chunk(completion_id, created, model, [choice])
                if include_usage:
                    event["usage"] = None
                await response.write(_sse(event))
            if include_usage:
                usage_event = _chunk(completion_id, created, model, [])
                usage_event["usage"] = _usage(body, chunks)
                await response.write(_sse(usage_event))
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass  # the client went away (e.g. an interruption cancelled the completion)
        return response


def _sse(event: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(event)}\n\n".encode()


def _chunk(
    completion_id: str, created: int, model: str, choices: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": choices,
    }


def _choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def _split_words(text: str) -> list[str]:
    """Split keeping the spaces: "a b c" -> ["a", " b", " c"]."""
    pieces: list[str] = []
    for i, word in enumerate(text.split(" ")):
        pieces.append(word if i == 0 else " " + word)
    return [p for p in pieces if p]


def _split_arguments(arguments: str) -> list[str]:
    """Split an arguments JSON string into 2-3 fragments, like OpenAI streams them."""
    if len(arguments) < 4:
        return [arguments]
    parts = 3 if len(arguments) >= 12 else 2
    size = -(-len(arguments) // parts)
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def _reply_chunks(reply: Reply) -> list[dict[str, Any]]:
    """The ``choices[0]`` entries of every streamed chunk for a reply."""
    if isinstance(reply, Text):
        chunks = [_choice({"role": "assistant", "content": "", "refusal": None})]
        chunks += [_choice({"content": piece}) for piece in _split_words(reply.text)]
        chunks.append(_choice({}, "stop"))
        return chunks
    calls = reply.calls if isinstance(reply, ToolCalls) else [reply]
    chunks = []
    for index, call in enumerate(calls):
        call_id = call.id or "call_" + secrets.token_hex(12)
        header = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        delta: dict[str, Any] = {"tool_calls": [header]}
        if index == 0:
            delta = {"role": "assistant", "content": None, **delta}
        chunks.append(_choice(delta))
        for fragment in _split_arguments(json.dumps(call.arguments)):
            chunks.append(
                _choice({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
            )
    chunks.append(_choice({}, "tool_calls"))
    return chunks


def _usage(body: dict[str, Any], chunks: list[dict[str, Any]]) -> dict[str, int]:
    prompt = sum(len(json.dumps(m)) // 4 for m in body.get("messages", []))
    completion = max(1, len(chunks) - 2)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion_object(chunks: list[dict[str, Any]], model: str) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` assembled from the same chunks."""
    content = "".join(c["delta"].get("content") or "" for c in chunks)
    calls: dict[int, dict[str, Any]] = {}
    for c in chunks:
        for tc in c["delta"].get("tool_calls") or []:
            entry = calls.setdefault(
                tc["index"],
                {"id": tc.get("id"), "type": "function", "function": {"name": "", "arguments": ""}},
            )
            entry["function"]["name"] += tc.get("function", {}).get("name") or ""
            entry["function"]["arguments"] += tc.get("function", {}).get("arguments") or ""
    message: dict[str, Any] = {"role": "assistant", "content": content or None, "refusal": None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {
        "id": "chatcmpl-" + secrets.token_hex(12),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": chunks[-1]["finish_reason"],
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
