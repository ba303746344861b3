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


def _environment_reads(path: Path) -> list[int]:
    """Lines that read os.environ / os.getenv (exporting a variable for child processes is fine)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            if node.attr == "getenv":
                lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "environ"
                and node.func.attr in ("get", "copy", "items", "keys", "values", "setdefault")
            ):
                lines.append(node.lineno)
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
                lines.append(node.lineno)
    return lines


def test_only_the_settings_module_reads_the_environment():
    files = [ROOT / "server.py"]
    for folder in ("bot", "pipelines", "tools"):
        files.extend((ROOT / folder).rglob("*.py"))
    offenders = {str(p.relative_to(ROOT)): _environment_reads(p) for p in files}
    assert {name: lines for name, lines in offenders.items() if lines} == {}


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
    settings = Settings(
        _env_file=None, openai_api_key="sk-secret-value", public_base_url="https://x.fly.dev/"
    )
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
