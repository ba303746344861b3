"""Contracts on the code's shape: domain code stays free of Pipecat, settings stay in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_code_does_not_import_pipecat():
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if any(name == "pipecat" or name.startswith("pipecat.") for name in _imports(path))
    ]
    assert offenders == []


def test_only_the_settings_module_reads_the_environment():
    offenders = []
    for folder in ("bot", "pipelines", "tools"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if "os.getenv" in text or "os.environ" in text:
                offenders.append(str(path.relative_to(ROOT)))
    if "os.getenv" in (ROOT / "server.py").read_text() or "os.environ" in (ROOT / "server.py").read_text():
        offenders.append("server.py")
    assert offenders == []


def test_every_tool_has_its_schema_beside_its_handler():
    from tools import ALL_TOOLS

    names = [tool.name for tool in ALL_TOOLS]
    assert len(names) == len(set(names))
    for tool in ALL_TOOLS:
        module = ROOT / "tools" / f"{tool.name}.py"
        assert module.exists(), f"tool {tool.name} should live in tools/{tool.name}.py"
        assert tool.handler.__module__ == f"tools.{tool.name}"
        assert tool.description and isinstance(tool.properties, dict)


def test_settings_validate_urls_and_hide_secrets():
    settings = Settings(_env_file=None, openai_api_key="sk-secret-value", public_base_url="https://x.fly.dev/")
    assert "sk-secret-value" not in repr(settings)
    assert settings.stream_url == "wss://x.fly.dev/twilio/ws"
    assert Settings(_env_file=None, public_base_url="http://localhost:7860").stream_url == (
        "ws://localhost:7860/twilio/ws"
    )
    with pytest.raises(ValidationError, match="ws:// or wss://"):
        Settings(_env_file=None, deepgram_base_url="http://api.deepgram.com")
    with pytest.raises(ValidationError, match="absolute http"):
        Settings(_env_file=None, public_base_url="receptionist.fly.dev")


def test_no_keys_means_no_calls_but_a_clear_list():
    settings = Settings(_env_file=None)
    assert not settings.can_take_calls
    assert settings.missing_providers == ["deepgram", "openai", "cartesia"]
