"""Pure tables for bot.access (tokens, call caps) and bot.webhook_origin (AccountSid)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.access import CallCaps, Credential, bearer, check
from bot.config import Settings
from bot.webhook_origin import account_matches

SID = "AC" + "0" * 32


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("Basic abc", None),
        ("abc", None),
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
    ],
)
def test_bearer_header(header, token):
    assert bearer(header) == token


@pytest.mark.parametrize(
    ("expected", "presented", "result"),
    [
        (SecretStr("s3cret"), "s3cret", Credential.VALID),
        ("s3cret", "s3cret", Credential.VALID),
        (SecretStr("s3cret"), None, Credential.MISSING),
        (SecretStr("s3cret"), "", Credential.MISSING),
        (SecretStr("s3cret"), "s3cre", Credential.WRONG),
        (SecretStr("s3cret"), "s3cretX", Credential.WRONG),
        (SecretStr(""), "", Credential.MISSING),
        (SecretStr(""), "anything", Credential.WRONG),  # unset never matches
        (SecretStr("   "), "   ", Credential.WRONG),
        (None, "anything", Credential.WRONG),
        (SecretStr("é-token"), "é-token", Credential.VALID),
    ],
)
def test_token_check(expected, presented, result):
    assert check(expected, presented) is result


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_caps_limit_calls_at_once_and_per_minute():
    clock = Clock()
    caps = CallCaps(max_concurrent=2, per_minute=3, clock=clock)
    assert caps.admit() is None and caps.admit() is None
    refused = caps.admit()
    assert refused is not None and "at once" in refused and "2" in refused
    caps.release()
    assert caps.admit() is None  # third start this minute
    caps.release()
    caps.release()
    clock.t += 30
    refused = caps.admit()
    assert refused is not None and "this minute" in refused and "30 s" in refused
    assert caps.running == 0  # refusals take no slot
    clock.t += 30  # the first two starts leave the window
    assert caps.admit() is None and caps.admit() is None
    assert caps.admit() is not None  # the window holds 3 again


def test_release_never_goes_below_zero():
    caps = CallCaps(max_concurrent=1, per_minute=10)
    caps.release()
    assert caps.running == 0 and caps.admit() is None and caps.admit() is not None


@pytest.mark.parametrize(
    ("expected", "presented", "matches"),
    [
        (SID, SID, True),
        (SID, f" {SID} ", True),
        (SID, "AC" + "f" * 32, False),
        (SID, "", False),
        (SID, None, False),
        (None, SID, False),  # unset matches nothing
        ("", "", False),
    ],
)
def test_account_matches(expected, presented, matches):
    assert account_matches(expected, presented) is matches


def test_the_test_page_docs_and_metrics_are_closed_by_default_everywhere(monkeypatch):
    for name in ("TEST_PAGE_ENABLED", "API_DOCS_ENABLED", "METRICS_TOKEN", "TEST_PAGE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert not settings.test_page_enabled and not settings.api_docs_enabled
    assert settings.metrics_token is None and settings.test_page_token is None
    root = Path(__file__).resolve().parent.parent
    example = (root / ".env.example").read_text().splitlines()
    assert "TEST_PAGE_ENABLED=false" in example and "API_DOCS_ENABLED=false" in example
    assert "TEST_PAGE_ENABLED=false" in (root / "Dockerfile").read_text()
    assert 'TEST_PAGE_ENABLED = "false"' in (root / "fly.toml").read_text()
