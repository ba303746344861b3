"""One benchmark call, played by the fake Twilio caller, and what it measured.

A call: signed webhook → TwiML → Media Streams socket → greeting → ``turns`` caller utterances,
each followed by the bot's reply → hang-up. Caller audio is real espeak-ng speech (utterances
smart-turn judges complete), paced at 20 ms per frame on an absolute clock by ``FakeTwilioCaller``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from tests import audio
from tests.fakes.caller import FakeTwilioCaller
from tests.fakes.world import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

# Utterances Pipecat's smart-turn v3.2 judges complete (offline-testing notes §8); one per turn.
UTTERANCES = ["book_tomorrow", "my_name", "leaking_sink", "never_mind"]
REPLY_TIMEOUT_S = 8.0
CALL_TIMEOUT_S = 180.0
# The caller's ear: the bot's audio arriving more than this after the audio already received has
# played out is an underrun (a drop-out inside the bot's speech): one 20 ms frame of slack.
UNDERRUN_TOLERANCE_S = 0.02
# The same with a 60 ms playout (jitter) buffer, as a phone network would add; reported beside.
JITTER_BUFFER_S = 0.06
# A silence longer than this ends one bot utterance (Pipecat's own bot-stopped-speaking timeout,
# BOT_VAD_STOP_SECS); what follows is a new utterance, not an underrun.
UTTERANCE_GAP_S = 0.35


@dataclass
class TurnResult:
    """One caller utterance and the bot's answer, on the caller's clock (time.monotonic())."""

    utterance: str
    t_last_voiced: float
    t_reply: float | None = None  # first bot media frame after the caller's last voiced frame
    t_reply_voiced: float | None = None

    @property
    def v2v(self) -> float | None:
        return None if self.t_reply is None else self.t_reply - self.t_last_voiced


@dataclass
class CallResult:
    index: int
    call_sid: str
    from_number: str
    t_start: float | None = None  # `start` sent on the stream
    t_greeting: float | None = None  # first greeting media frame received
    t_greeting_voiced: float | None = None
    turns: list[TurnResult] = field(default_factory=list)
    underruns: int = 0
    underrun_ms: float = 0.0
    underruns_60ms: int = 0  # with a 60 ms jitter buffer at the caller
    underrun_where: list[list[float]] = field(default_factory=list)
    bot_audio_s: float = 0.0
    send_lateness_max_ms: float = 0.0  # how late the caller's own 20 ms frames went out
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["turns"] = [asdict(t) | {"v2v": t.v2v} for t in self.turns]
        return data


def _segments(caller: FakeTwilioCaller) -> list[list[dict[str, Any]]]:
    """Bot media split into speech segments: the greeting, then one per reply."""
    cuts = [u["t_start"] for u in caller.utterances if u["t_start"] is not None]
    segments: list[list[dict[str, Any]]] = [[] for _ in range(len(cuts) + 1)]
    for record in caller.events("media"):
        k = sum(1 for c in cuts if record["t"] >= c)
        segments[k].append(record)
    return segments


def underruns(
    caller: FakeTwilioCaller,
    slack_s: float = UNDERRUN_TOLERANCE_S,
    where: list[list[float]] | None = None,
) -> tuple[int, float, float]:
    """(underruns, total gap ms, seconds of bot audio), with a playout-buffer model of the ear.

    `where`, if given, receives [segment (0 = greeting), seconds into the utterance, gap ms] for
    each underrun.
    """
    count, gap_total, audio_s = 0, 0.0, 0.0
    for index, segment in enumerate(_segments(caller)):
        playout_end = None
        utterance_t0 = None
        for record in segment:
            duration = len(record["audio"]) / 8000
            audio_s += duration
            late = None if playout_end is None else record["t"] - playout_end
            if late is None or late > UTTERANCE_GAP_S:
                utterance_t0 = record["t"]
            if late is not None and slack_s < late <= UTTERANCE_GAP_S:
                count += 1
                gap_total += late
                if where is not None:
                    at = round(record["t"] - utterance_t0, 3)
                    where.append([index, at, round(late * 1000, 1)])
            if late is None or late > UTTERANCE_GAP_S:
                playout_end = record["t"] + duration  # a new utterance starts playing
            else:
                playout_end = max(record["t"], playout_end) + duration
    return count, gap_total * 1000, audio_s


def send_lateness_ms(caller: FakeTwilioCaller) -> float:
    """Largest lateness of the caller's media frames against their 20 ms schedule."""
    sent = [s["t"] for s in caller.sent if s["event"] == "media"]
    if not sent:
        return 0.0
    t0 = sent[0]
    return max((t - (t0 + k * 0.02)) * 1000 for k, t in enumerate(sent))


async def run_call(
    index: int,
    server_url: str,
    public_base_url: str,
    turns: int,
    rng: random.Random,
) -> CallResult:
    """Play one whole call and return what the caller measured (errors are recorded, not raised)."""
    from_number = f"+1555{rng.randrange(10**6, 10**7)}"
    caller = FakeTwilioCaller(
        server_url,
        public_base_url,
        DEFAULT_AUTH_TOKEN,
        DEFAULT_ACCOUNT_SID,
        from_number=from_number,
    )
    result = CallResult(index=index, call_sid=caller.call_sid, from_number=from_number)
    try:
        async with asyncio.timeout(CALL_TIMEOUT_S):
            await _play(caller, result, turns, rng)
    except Exception as exc:  # a failed call is a result too
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await caller.hangup()
        result.underruns, result.underrun_ms, result.bot_audio_s = underruns(
            caller, where=result.underrun_where
        )
        result.underruns_60ms = underruns(caller, JITTER_BUFFER_S)[0]
        result.send_lateness_max_ms = send_lateness_ms(caller)
    return result


async def _play(
    caller: FakeTwilioCaller, result: CallResult, turns: int, rng: random.Random
) -> None:
    response = await caller.dial()
    if response.status_code != 200 or caller.stream_url is None:
        raise RuntimeError(f"webhook answered {response.status_code}")
    await caller.connect()
    result.t_start = caller.started_t
    assert caller.started_t is not None
    result.t_greeting = await caller.wait_for_bot_audio(caller.started_t, timeout=15)
    result.t_greeting_voiced = caller.first_media_t(voiced_only=True)
    await caller.wait_for_bot_silence(quiet_s=0.5, timeout=30)
    for k in range(turns):
        await asyncio.sleep(rng.uniform(0.3, 1.0))  # the caller thinks
        name = UTTERANCES[k % len(UTTERANCES)]
        said = await caller.say(audio.load(name), name=name)
        turn = TurnResult(utterance=name, t_last_voiced=said["t_last_voiced_frame"])
        result.turns.append(turn)
        try:
            turn.t_reply = await caller.wait_for_bot_audio(
                turn.t_last_voiced, timeout=REPLY_TIMEOUT_S
            )
            turn.t_reply_voiced = await caller.wait_for_bot_audio(
                turn.t_last_voiced, timeout=REPLY_TIMEOUT_S, voiced_only=True
            )
        except TimeoutError:
            continue  # an unanswered turn: counted, the call goes on
        await caller.wait_for_bot_silence(quiet_s=0.5, timeout=30)
