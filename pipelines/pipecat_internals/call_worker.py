"""A `PipelineWorker` whose observers are told only what they listen to.

Pipecat reports every frame, at every processor it crosses, to every observer: each report is a
queue put and a task wake-up per observer. Caller audio alone is 50 frames a second crossing a
dozen processors, so a phone call made about 1,800 such reports a second, nearly all to the
no-op `BaseObserver.on_process_frame`. Here a "frame processed" report goes only to observers
that override `on_process_frame`; "frame pushed" reports are unchanged.

Pinned to pipecat-ai 1.14: the worker builds its `WorkerObserver` in `__init__` and keeps it in
`_observer` (tests/test_call_worker.py fails if that changes).
"""

from __future__ import annotations

from typing import Any

from pipecat.observers.base_observer import BaseObserver, FrameProcessed
from pipecat.pipeline.worker import PipelineWorker
from pipecat.pipeline.worker_observer import WorkerObserver


def listens_to_processing(observer: BaseObserver) -> bool:
    """Whether the observer does anything with "frame processed" reports."""
    return type(observer).on_process_frame is not BaseObserver.on_process_frame


class LeanWorkerObserver(WorkerObserver):
    """Sends "frame processed" reports only to the observers that handle them."""

    async def on_process_frame(self, data: FrameProcessed) -> None:
        """Queue the report only for observers that handle processed frames."""
        if not self._proxies:
            return
        for observer, proxy in self._proxies.items():
            if listens_to_processing(observer):
                await proxy.queue.put(data)


class CallWorker(PipelineWorker):
    """`PipelineWorker` with the lean observer proxy."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._observer = LeanWorkerObserver(observers=list(self._observer._observers))
