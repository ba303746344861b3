"""bot/drain.py on its own: who ends by themselves, who hears the goodbye, what the record says."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from bot.drain import SHUTDOWN_GOODBYE, SHUTDOWN_REASON, Drain


class FakeCall:
    """A live call: ends after `ends_after` s, or once told to say goodbye."""

    def __init__(self, call_id: str, ends_after: float) -> None:
        self.ended = asyncio.Event()
        self.goodbyes: list[tuple[str, str]] = []
        self.decided: list[tuple[str, str]] = []
        self.ends_after = ends_after
        self.session = SimpleNamespace(
            call_id=call_id, control=self, decide_end=lambda s, r: self.decided.append((s, r))
        )

    async def end_call(self, reason: str, farewell: str, *, status: str = "COMPLETED") -> None:
        self.goodbyes.append((reason, farewell))
        asyncio.get_running_loop().call_later(0.05, self.ended.set)

    async def run(self, drain: Drain) -> None:
        with drain.track(self.session):
            try:
                await asyncio.wait_for(self.ended.wait(), self.ends_after)
            except TimeoutError:
                pass


async def test_calls_that_end_in_time_are_left_alone_and_the_rest_hear_goodbye():
    drain = Drain(drain_secs=0.3, wrap_up_secs=2)
    quick, slow = FakeCall("CAquick", ends_after=0.1), FakeCall("CAslow", ends_after=60)
    calls = [asyncio.create_task(c.run(drain)) for c in (quick, slow)]
    await asyncio.sleep(0.01)
    report = await drain.run()
    assert drain.draining
    assert quick.goodbyes == [] and slow.goodbyes == [(SHUTDOWN_REASON, SHUTDOWN_GOODBYE)]
    assert (report.live_at_start, report.ended_by_themselves, report.told_goodbye) == (2, 1, 1)
    assert report.left_over == 0 and report.seconds < 1.0
    await asyncio.gather(*calls)


async def test_an_idle_server_drains_at_once_and_a_forced_stop_is_recorded():
    assert (await Drain(drain_secs=100).run()).seconds < 0.1
    drain = Drain(drain_secs=100)
    stuck = FakeCall("CAstuck", ends_after=60)
    task = asyncio.create_task(stuck.run(drain))
    await asyncio.sleep(0.01)
    drain.abandon()
    assert stuck.decided == [("FAILED", SHUTDOWN_REASON)]
    task.cancel()
