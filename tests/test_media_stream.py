"""Media Streams message checks: everything malformed is classified, nothing raises."""

import asyncio
import base64
import json

import pytest

from bot.media_stream import DropCounter, Malformed, parse_message, read_stream_start

MEDIA = json.dumps(
    {"event": "media", "media": {"payload": base64.b64encode(b"\xff" * 160).decode()}}
)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00\x01binary", "binary_frame"),
        ("x" * 70_000, "oversized"),
        ("{not json", "bad_json"),
        ("[1, 2, 3]", "not_an_object"),
        ('"media"', "not_an_object"),
        ('{"event": "party"}', "unknown_event"),
        ('{"event": 5}', "unknown_event"),
        ('{"no_event": true}', "unknown_event"),
        ('{"event": "media"}', "bad_media"),
        ('{"event": "media", "media": "payload"}', "bad_media"),
        ('{"event": "media", "media": {"payload": 12}}', "bad_media"),
        ('{"event": "media", "media": {"payload": "%%%not base64%%%"}}', "bad_base64"),
        ('{"event": "dtmf", "dtmf": {"digit": "x"}}', "bad_dtmf"),
        ("[" * 100_000, "oversized"),
    ],
)
def test_malformed_messages_are_classified(data, reason):
    with pytest.raises(Malformed) as caught:
        parse_message(data, 64 * 1024)
    assert caught.value.reason == reason


def test_valid_messages_pass():
    assert parse_message(MEDIA, 64 * 1024)["event"] == "media"
    assert parse_message('{"event": "dtmf", "dtmf": {"digit": "#"}}', 1024)["event"] == "dtmf"
    assert parse_message('{"event": "stop", "stop": {}}', 1024)["event"] == "stop"


def test_deeply_nested_json_is_dropped_not_raised():
    with pytest.raises(Malformed):
        parse_message("[" * 50_000 + "]" * 50_000, 200_000)


def test_start_is_found_after_junk_and_early_media():
    start = {
        "event": "start",
        "streamSid": "MZ1",
        "start": {
            "streamSid": "MZ1",
            "callSid": "CA1",
            "accountSid": "AC1",
            "customParameters": {"token": "t"},
        },
    }
    queue = [json.dumps({"event": "connected"}), MEDIA, "junk", json.dumps(start)]

    async def receive():
        return queue.pop(0)

    drops = DropCounter()
    got = asyncio.run(read_stream_start(receive, 1024, drops))
    assert got is not None and got.call_sid == "CA1" and got.parameters == {"token": "t"}
    assert drops.by_reason == {"before_start": 1, "bad_json": 1}


def test_no_start_gives_none():
    async def receive():
        return MEDIA

    assert asyncio.run(read_stream_start(receive, 1024, DropCounter(), max_messages=5)) is None
