"""The call's worker tells observers about frame processing only if they handle it."""

from __future__ import annotations

from pipecat.frames.frames import EndFrame, TextFrame
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from pipelines.pipecat_internals.call_worker import (
    CallWorker,
    LeanWorkerObserver,
    listens_to_processing,
)


class Passthrough(FrameProcessor):
    async def process_frame(self, frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)


class PushWatcher(BaseObserver):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    async def on_push_frame(self, data: FramePushed) -> None:
        if isinstance(data.frame, TextFrame):
            self.texts.append(data.frame.text)


class ProcessWatcher(BaseObserver):
    def __init__(self) -> None:
        super().__init__()
        self.processed: list[str] = []

    async def on_process_frame(self, data: FrameProcessed) -> None:
        if isinstance(data.frame, TextFrame):
            self.processed.append(data.processor.name)


async def test_observers_still_see_what_they_listen_to():
    pushes, processing = PushWatcher(), ProcessWatcher()
    worker = CallWorker(
        Pipeline([Passthrough(name="first"), Passthrough(name="second")]),
        observers=[pushes, processing],
        enable_rtvi=False,
        enable_turn_tracking=False,
        idle_timeout_secs=None,
    )
    # Pipecat 1.14 keeps the worker's observer proxy in `_observer`; if that changes, the lean
    # proxy silently stops being used and this fails.
    assert isinstance(worker._observer, LeanWorkerObserver)
    await worker.queue_frames([TextFrame("hello"), EndFrame()])
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await runner.run()

    assert pushes.texts.count("hello") >= 3  # every push: source → first → second → sink
    assert {"first", "second"} <= set(processing.processed)
    assert listens_to_processing(processing) and not listens_to_processing(pushes)
