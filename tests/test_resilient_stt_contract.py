"""What pipelines/pipecat_internals/resilient_stt.py relies on still exists in the installed Pipecat.

One row per private name of `DeepgramSTTService` (Pipecat 1.14) that `ReconnectingDeepgramSTT`
overrides or uses. A failure means an upgrade changed something it leans on: re-check the module.
"""

from __future__ import annotations

import inspect

import pytest
from pipecat.services.deepgram.stt import DeepgramSTTService

from pipelines.pipecat_internals.resilient_stt import ReconnectingDeepgramSTT

METHODS = [
    "_connection_handler",
    "_on_message",
    "_on_error",
    "_keepalive_handler",
    "_build_connect_kwargs",
    "_connect",
    "_disconnect",
    "run_stt",
    "request_finalize",
]
ATTRIBUTES = ["_client", "_connection", "_connection_settled", "_connection_task"]


@pytest.mark.parametrize("name", METHODS)
def test_methods_it_overrides_or_calls_exist(name):
    assert callable(getattr(DeepgramSTTService, name, None)), name


@pytest.mark.parametrize("name", ATTRIBUTES)
def test_attributes_it_uses_are_still_set_by_the_service(name):
    assert f"self.{name} =" in inspect.getsource(DeepgramSTTService), name


def test_the_handler_it_replaces_is_still_the_one_connect_starts():
    # Pipecat's _connect starts `self._connection_handler()`: the override must be what runs.
    assert "self._connection_handler()" in inspect.getsource(DeepgramSTTService._connect)
    assert ReconnectingDeepgramSTT._connection_handler is not DeepgramSTTService._connection_handler
