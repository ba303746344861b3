"""SMS outbox: a row before the send, one send per key, nothing lost without Twilio."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from bot.outbox import Outbox
from bot.storage import Store
from bot.twilio_rest import TwilioRest


def settings_for(fakes, tmp_path) -> Settings:
    return Settings(
        _env_file=None, data_dir=tmp_path, **{k.lower(): v for k, v in fakes.env().items()}
    )


async def test_one_sms_per_key_even_when_sent_concurrently(fakes, tmp_path):
    settings = settings_for(fakes, tmp_path)
    store = await Store.open(settings.database_path)
    twilio = TwilioRest(settings)
    outbox = Outbox(store, twilio)
    try:
        results = await asyncio.gather(
            *(
                outbox.send(
                    key="booking:b1:confirmation",
                    kind="confirmation",
                    to="+18605550199",
                    body="Your visit is booked.",
                )
                for _ in range(5)
            )
        )
        assert sorted(r.duplicate for r in results) == [False, True, True, True, True]
        sent = [m for m in fakes.twilio.messages if m["form"]["To"] == "+18605550199"]
        assert len(sent) == 1 and sent[0]["form"]["Body"] == "Your visit is booked."
        rows = await store.read_all("SELECT status, provider_sid FROM outbox")
        assert rows == [("sent", sent[0]["sid"])]
    finally:
        await twilio.close()
        await store.close()


async def test_failed_send_is_kept_and_retried(fakes, tmp_path):
    settings = settings_for(fakes, tmp_path)
    store = await Store.open(settings.database_path)
    twilio = TwilioRest(settings)
    outbox = Outbox(store, twilio)
    try:
        fakes.call(fakes.twilio.fail_next(500))
        first = await outbox.send(key="k1", kind="alert", to="+18605550111", body="Emergency")
        assert first.status == "failed"
        assert await store.read_all("SELECT status, attempts FROM outbox") == [("failed", 1)]
        assert await outbox.retry_failed() == 1
        assert await store.read_all("SELECT status, attempts FROM outbox") == [("sent", 2)]
        accepted = [m["form"]["Body"] for m in fakes.twilio.messages if m["status"] == 201]
        assert accepted == ["Emergency"] and len(fakes.twilio.messages) == 2
    finally:
        await twilio.close()
        await store.close()


async def test_without_twilio_the_message_waits_in_the_outbox(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        result = await Outbox(store, None).send(key="k", kind="confirmation", to="+1860", body="b")
        assert result.status == "unconfigured"
        assert await store.read_all("SELECT status, body FROM outbox") == [("unconfigured", "b")]
    finally:
        await store.close()
