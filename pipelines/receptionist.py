"""The receptionist: one Pipecat pipeline per call, whatever the transport.

    caller audio → Silero VAD + smart-turn → Deepgram STT → OpenAI LLM (+ tools) → Cartesia TTS → caller

`build_pipeline` is that pipeline as one list, around a transport that Twilio
(`pipelines.twilio_call`) or the WebRTC test page provides. `CallRunner` is the call's lifecycle
around it: it greets the caller, stores every turn and tool call as it happens, re-prompts a
silent caller, enforces the maximum call length, and closes the call record however the call ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    EndFrame,
    LLMMessagesAppendFrame,
    LLMSetToolsFrame,
    TTSSpeakFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, ProcessorUnusablePolicy
from pipecat.processors.aggregators.llm_context import LLMContext, LLMContextMessage
from pipecat.processors.aggregators.llm_response_universal import (
    LLMAssistantAggregator,
    LLMContextAggregatorPair,
    LLMUserAggregator,
    LLMUserAggregatorParams,
)
from pipecat.services.llm_service import LLMService
from pipecat.transports.base_transport import BaseTransport
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from bot import claims_audit
from bot.call_session import MAX_PIN_ATTEMPTS, CallSession
from bot.metrics import ACTIVE_CALLS, CALLS_ENDED
from bot.owner_pin_guard import check_owner_pin
from bot.prompts import build_system_prompt
from bot.provider_outage import fail_over
from bot.twilio_webhook import transfer_twiml
from pipelines.caller_audio_stop import CallerAudioStop
from pipelines.emergency_watch import EmergencyTriage, EmergencyWatcher
from pipelines.latency import latency_observer
from pipelines.llm_fallback import LLMFallback, LLMGate
from pipelines.owner_pin_gate import OwnerPinGate
from pipelines.pipecat_internals.call_worker import CallWorker
from pipelines.pipecat_internals.shared_models import SharedSileroVADAnalyzer
from pipelines.pipecat_internals.speculative_turn import SpeculativeSmartTurn
from pipelines.services import make_llm, make_stt, make_tts
from pipelines.spoken_digits import SpokenDigitsWithheld
from pipelines.tool_adapter import function_schemas
from pipelines.tts_watch import TTSWatch
from tools import tools_for

# Longest silence after which smart-turn ends a turn it judged incomplete. Its default (3 s) is
# the dead air callers complain about; 2 s still lets people pause while reading a number out.
TURN_FALLBACK_SECS = 2.0
# If the goodbye cannot be delivered (TTS stalled), the call is cut after this long anyway.
END_GRACE_SECS = 20.0
REPROMPTS = ("Are you still there?", "I'm still here if you need anything. Just say so.")
SILENCE_GOODBYE = (
    "I haven't heard anything, so I'll end the call now. Please call back any time. Goodbye."
)
MAX_LENGTH_GOODBYE = (
    "I'm sorry, we've reached the time limit for this call. Please call back if you need "
    "anything else. Goodbye."
)


@dataclass
class CallPipeline:
    """One call's pipeline, and the parts of it the call's lifecycle talks to."""

    pipeline: Pipeline
    user_aggregator: LLMUserAggregator  # caller turns, silence
    assistant_aggregator: LLMAssistantAggregator  # what the caller heard
    llm: LLMService[Any]
    fallback: LLMFallback  # speaks past a stuck LLM
    tts_watch: TTSWatch  # a TTS that produces no audio sends the caller to voicemail


def build_pipeline(
    transport: BaseTransport,
    session: CallSession,
    triage: EmergencyTriage,
    *,
    on_outage: Callable[[str], Coroutine[Any, Any, None]],
) -> CallPipeline:
    """The receptionist's pipeline for one call, in frame order, around `transport`."""
    settings = session.settings
    tools = tools_for(session)
    context = LLMContext(
        messages=_opening_messages(session),
        tools=ToolsSchema(standard_tools=function_schemas(session, tools)),
    )
    vad = SharedSileroVADAnalyzer(params=VADParams(stop_secs=0.2))
    turn = SpeculativeSmartTurn(vad=vad, params=SmartTurnParams(stop_secs=TURN_FALLBACK_SECS))
    user_agg, assistant_agg = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            vad_analyzer=vad,
            user_turn_strategies=UserTurnStrategies(
                stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=turn)]
            ),
            user_idle_timeout=settings.silence_reprompt_secs,
        ),
    )
    prompt = build_system_prompt(session.profile, tool_names=[t.name for t in tools])
    llm = make_llm(settings, system_prompt=prompt)
    fallback = LLMFallback(
        session, stall_secs=settings.llm_stall_secs, give_up_secs=settings.llm_give_up_secs
    )
    # A dead TTS or an STT that stays down sends the caller to voicemail (no dead air).
    stt = make_stt(settings, call_id=session.call_id)
    stt.on_unavailable = lambda: on_outage("stt_unavailable")
    tts = make_tts(settings)
    tts_watch = TTSWatch(
        stall_secs=settings.tts_stall_secs,
        max_errors=settings.tts_max_errors,
        on_failure=lambda: on_outage("tts_unavailable"),
    )
    tts_watch.tts = tts
    pipeline = Pipeline(
        [
            transport.input(),  # caller audio in
            OwnerPinGate(session),  # keypad PIN on calls from an owner number
            stt,  # Deepgram, reconnecting at once if its socket drops
            SpokenDigitsWithheld(session),  # no spoken PIN reaches the LLM or the record
            EmergencyWatcher(triage),  # whatever the LLM does
            user_agg,  # VAD, end of turn, barge-in
            CallerAudioStop(),  # nothing below needs caller audio
            LLMGate(fallback),  # closed if the LLM stops answering
            llm,  # OpenAI + tools
            fallback.voice,  # notices LLM output; speaks past a stuck LLM
            tts_watch.requests,  # what the TTS was asked to say
            tts,  # Cartesia
            tts_watch.output,  # ... and whether audio came out
            transport.output(),  # bot audio out
            assistant_agg,  # keeps only what the caller heard
        ]
    )
    return CallPipeline(pipeline, user_agg, assistant_agg, llm, fallback, tts_watch)


class CallRunner:
    """Runs one call's pipeline to the end and keeps its record. Implements `CallControl`."""

    def __init__(
        self,
        transport: BaseTransport,
        session: CallSession,
        *,
        audio_in_rate: int,
        audio_out_rate: int,
    ) -> None:
        self._transport = transport
        self._session = session
        self._reprompts = 0
        self._end_task: asyncio.Task | None = None
        session.control = self
        self._triage = EmergencyTriage(session, lambda frames: self._worker.queue_frames(frames))

        self._parts = build_pipeline(transport, session, self._triage, on_outage=self._outage)
        self._user_agg = self._parts.user_aggregator
        self._assistant_agg = self._parts.assistant_aggregator
        self._llm = self._parts.llm
        self._fallback = self._parts.fallback
        self._tts_watch = self._parts.tts_watch
        pipeline = self._parts.pipeline
        self._worker = CallWorker(
            pipeline,
            params=PipelineParams(
                audio_in_sample_rate=audio_in_rate,
                audio_out_sample_rate=audio_out_rate,
                enable_metrics=True,
                enable_usage_metrics=True,
            ),
            idle_timeout_secs=120,
            observers=[latency_observer(session)],
            processor_unusable_policy=ProcessorUnusablePolicy.CANCEL,
            enable_rtvi=False,  # no client speaks RTVI; it cost a processor hop and an observer per frame
            enable_turn_tracking=False,  # nothing reads it; one observer fewer per frame
        )
        self._register_events()

    # ---- CallControl -------------------------------------------------------------------------

    async def say(self, text: str) -> None:
        """Speak a fixed line outside the LLM."""
        await self._worker.queue_frames([TTSSpeakFrame(text)])

    async def end_call(self, reason: str, farewell: str, *, status: str = "COMPLETED") -> None:
        """Say the farewell, then end the pipeline; on the phone, hang up through Twilio."""
        if not self._session.decide_end(status, reason, hang_up=True):
            return
        goodbye = TTSSpeakFrame(farewell)
        goodbye.interruptible = False
        # Queued from a task so a tool asking to end the call can return its result first.
        self._end_task = asyncio.create_task(self._finish([goodbye, EndFrame()]))

    async def _outage(self, reason: str) -> None:
        """A speech provider is gone: apology and voicemail from Twilio, owner texted."""
        await fail_over(
            self._session, reason, end_pipeline=lambda: self._worker.cancel(reason=reason)
        )

    async def _finish(self, frames: list) -> None:
        await self._worker.queue_frames(frames)
        await asyncio.sleep(END_GRACE_SECS)
        logger.warning("call {}: goodbye did not finish, cancelling", self._session.call_id)
        await self._worker.cancel(reason="end_grace_expired")

    async def transfer(self, number: str, line: str) -> None:
        """Say the line, then end the pipeline; Twilio is told to dial `number` at the end."""
        session = self._session
        if not session.decide_end("COMPLETED", "transferred"):
            return
        session.redirect_twiml = transfer_twiml(
            number,
            caller_id=session.called,
            voicemail_action=f"{session.settings.public_base_url}/twilio/recording",
        )
        said = TTSSpeakFrame(line)
        said.interruptible = False
        self._end_task = asyncio.create_task(self._finish([said, EndFrame()]))

    async def verify_owner_pin(self, pin: str, *, respond: bool = False) -> bool:
        """Unlock owner mode on a right keypad PIN (limits across calls in `check_owner_pin`)."""
        session = self._session
        if not session.may_try_owner_pin:
            return False
        ok = await check_owner_pin(session, pin)  # counts, audits, texts the owner on a lockout
        if ok:
            note = (
                f"The caller is verified as the owner, {session.profile.owner.name}. Owner tools are "
                "now available. Answer for the ear: the count first, then times and names, briefly."
            )
        else:
            note = "The PIN typed on the keypad was not accepted."
            if session.pin_attempts >= MAX_PIN_ATTEMPTS:
                note += " No more attempts: treat this caller as an ordinary caller from now on."
        tools = tools_for(session)
        await self._worker.queue_frames(
            [
                LLMSetToolsFrame(
                    tools=ToolsSchema(standard_tools=function_schemas(session, tools))
                ),
                LLMMessagesAppendFrame(
                    messages=[{"role": "developer", "content": note}], run_llm=respond
                ),
            ]
        )
        return ok

    async def declare_emergency(self, reason: str, *, life_threatening: bool) -> bool:
        """Flag the call, text the owner, and move the conversation to the emergency script."""
        return await self._triage.flag(reason, life_threatening=life_threatening)

    async def dismiss_emergency(self, reason: str) -> bool:
        """The possible emergency the watcher raised is not one: nobody is alerted."""
        return await self._triage.dismiss(reason)

    # ---- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the call until it ends, then close its record. Never raises."""
        session = self._session
        limit = asyncio.create_task(self._enforce_max_length())
        heartbeat = asyncio.create_task(self._heartbeat())
        ACTIVE_CALLS.inc()
        try:
            runner = WorkerRunner(handle_sigint=False)
            await runner.add_workers(self._worker)
            await runner.run()
        except Exception as exc:
            logger.exception("call {} pipeline crashed: {}", session.call_id, type(exc).__name__)
            session.decide_end("FAILED", "pipeline_crashed")
        finally:
            limit.cancel()
            heartbeat.cancel()
            self._fallback.stop()
            self._tts_watch.stop()
            await self._triage.close()
            ACTIVE_CALLS.dec()
            if self._end_task:
                self._end_task.cancel()
            await self._close_record()

    async def _close_record(self) -> None:
        session = self._session
        await claims_audit.run_safely(session.store, session.call_id)  # never raises
        status, reason = session.end_status, session.end_reason
        if status is None or reason is None:
            status, reason = "FAILED", "pipeline_stopped"
        CALLS_ENDED.labels(status=status).inc()
        try:
            await session.store.finish_call(session.call_id, status, reason)
        except Exception as exc:  # the record must not take the server down with it
            logger.error("could not close call record {}: {}", session.call_id, type(exc).__name__)
        logger.info("call {} ended: {} ({})", session.call_id, status, reason)
        await session.emit(
            "ended", {"call_id": session.call_id, "status": status, "reason": reason}
        )

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._session.settings.call_heartbeat_secs)
            try:
                await self._session.store.heartbeat(self._session.call_id)
            except Exception as exc:
                logger.warning(
                    "call {} heartbeat failed: {}", self._session.call_id, type(exc).__name__
                )

    async def _enforce_max_length(self) -> None:
        await asyncio.sleep(self._session.settings.max_call_secs)
        await self.end_call("max_duration", MAX_LENGTH_GOODBYE)

    def _register_events(self) -> None:
        session, store = self._session, self._session.store

        @self._transport.event_handler("on_client_connected")
        async def _connected(transport, client) -> None:
            await store.mark_connected(session.call_id)
            await session.emit("call", {"call_id": session.call_id, "transport": session.transport})
            self._tts_watch.expect_audio()  # the greeting must start within TTS_STALL_SECS
            await self.say(session.profile.greeting)

        @self._transport.event_handler("on_client_disconnected")
        async def _disconnected(transport, client) -> None:
            if session.caller_turns:
                session.decide_end("COMPLETED", "caller_hung_up")
            else:
                session.decide_end("ABANDONED", "caller_hung_up")
            await self._worker.cancel(reason="caller_hung_up")

        @self._user_agg.event_handler("on_user_turn_stopped")
        async def _caller_turn(aggregator, strategy, message) -> None:
            self._reprompts = 0
            if message.content and message.content.strip():
                session.caller_turns += 1
                await store.add_turn(session.call_id, "caller", message.content)
                await session.emit("transcript", {"role": "caller", "text": message.content})
                self._triage.caller_turn_ended()
                if self._fallback.engaged:
                    await self._fallback.take_message(message.content)

        @self._llm.event_handler("on_function_calls_started")
        async def _tool_started(service, function_calls) -> None:
            self._fallback.model_answered()

        @self._assistant_agg.event_handler("on_assistant_turn_stopped")
        async def _bot_turn(aggregator, message) -> None:
            if message.content and message.content.strip():
                session.bot_turns += 1
                await store.add_turn(
                    session.call_id, "bot", message.content, interrupted=message.interrupted
                )
                await session.emit(
                    "transcript",
                    {"role": "bot", "text": message.content, "interrupted": message.interrupted},
                )

        @self._user_agg.event_handler("on_user_turn_idle")
        async def _silence(aggregator) -> None:
            limit = min(session.settings.silence_reprompts, len(REPROMPTS))
            if self._reprompts < limit:
                self._reprompts += 1
                await self.say(REPROMPTS[self._reprompts - 1])
            else:
                await self.end_call("silence", SILENCE_GOODBYE)

        @self._worker.event_handler("on_pipeline_error")
        async def _error(worker, frame) -> None:
            if getattr(frame, "fatal", False):
                session.decide_end("FAILED", "provider_error")
            logger.warning("call {} pipeline error (fatal={})", session.call_id, frame.fatal)

        @self._worker.event_handler("on_idle_timeout")
        async def _idle(worker) -> None:
            session.decide_end("FAILED", "pipeline_idle")


def _opening_messages(session: CallSession) -> list[LLMContextMessage]:
    """What the model knows before the caller speaks: the greeting it already gave."""
    caller = session.caller or "unknown"
    note = (
        f"Caller ID for this call: {caller}. It can be spoofed, so it is not proof of identity. "
        "The greeting has been spoken; wait for the caller."
    )
    if session.may_try_owner_pin:
        note += (
            " The caller ID matches the owner's phone. Owner information needs their PIN, typed "
            "on the keypad and ended with the # key, never said aloud: use verify_owner_pin to "
            "ask for it. Digits said aloud reach you as [digits withheld]."
        )
    return [{"role": "developer", "content": note}]
