"""Everything that leans on private parts of Pipecat (or of the libraries under it), in one place.

Each module here overrides a private method, reads a private attribute, or patches a library
function, because Pipecat 1.14 has no public hook for what it does. They were each measured to
be worth it (see their docstrings). An upgrade may break any of them, so:

- importing this package fails at once, with the reason, on a Pipecat other than 1.14.x;
- `tests/test_pipecat_contract.py` checks every private name listed below, and fails loudly,
  naming the module, if an upgrade renames or removes one.

What relies on what:

| module | private parts it relies on |
|---|---|
| call_worker | `PipelineWorker._observer`, `WorkerObserver._observers`/`_proxies` |
| twilio_transport | `FastAPIWebsocketOutputTransport._write_audio_sleep`/`_next_send_time`; `FastAPIWebsocketTransport._output`/`_client`/`_params`/`_output_name` |
| shared_models | skips `SileroOnnxModel.__init__` (sets `session`, `sample_rates`); `SileroVADAnalyzer._run_analyzer`/`_vad_state`/`_vad_stopping_count`/`_maybe_reset_model`; skips `LocalSmartTurnAnalyzerV3.__init__` (sets `_session`, `_log_data`; overrides `_model_executor`) |
| speculative_turn | `BaseSmartTurn._audio_buffer`/`_speech_triggered`/`_process_speech_segment`/`_clear` |
| phrase_cache | `TTSService._handle_tts_speak` |
| resilient_stt | replaces `DeepgramSTTService._connection_handler`; uses `_connect`, `_disconnect`, `_on_message`, `_on_error`, `_keepalive_handler`, `_build_connect_kwargs`, `_client`, `_connection`, `_connection_settled`, `_connection_task` |
| tls | `httpx._transports.default.create_ssl_context` (and httpx2's) |
| aioice_loopback | `aioice.ice.get_host_addresses` |
"""

from __future__ import annotations

from importlib.metadata import version

SUPPORTED = "1.14."

_installed = version("pipecat-ai")
if not _installed.startswith(SUPPORTED):
    raise ImportError(
        f"pipelines.pipecat_internals is written against pipecat-ai {SUPPORTED}x, but "
        f"{_installed} is installed: check each module here against the new Pipecat "
        "(tests/test_pipecat_contract.py lists what they rely on) before changing the pin"
    )
