"""All provider fakes in one background thread with its own asyncio loop.

The server under test runs as a separate process and gets ``fakes.env()``; tests of any kind
(sync or async, any fixture scope) read the fakes' records directly and change their knobs either
by plain attribute assignment or, for the async control methods, through ``fakes.call(...)``::

    with ProviderFakes(twilio_account_sid=SID, twilio_auth_token=TOKEN) as fakes:
        server = start_server(env=os.environ | fakes.env())
        fakes.deepgram.default_script = ["Can you book me in for tomorrow morning?"]
        fakes.call(fakes.openai.fail_next(500))
        ...
        fakes.reset()
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .cartesia import FakeCartesia
from .deepgram import FakeDeepgram
from .google_calendar import DEFAULT_CALENDAR_ID, FakeGoogleCalendar
from .openai import FakeOpenAI
from .twilio_rest import FakeTwilioREST

T = TypeVar("T")

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "test-twilio-auth-token"
DEFAULT_PHONE_NUMBER = "+15550100000"


class ProviderFakes:
    """Deepgram, OpenAI, Cartesia, Twilio REST and Google Calendar fakes, in a dedicated thread."""

    def __init__(
        self,
        twilio_account_sid: str = DEFAULT_ACCOUNT_SID,
        twilio_auth_token: str = DEFAULT_AUTH_TOKEN,
        twilio_phone_number: str = DEFAULT_PHONE_NUMBER,
    ) -> None:
        self.deepgram = FakeDeepgram()
        self.openai = FakeOpenAI()
        self.cartesia = FakeCartesia()
        self.twilio = FakeTwilioREST(twilio_account_sid, twilio_auth_token, twilio_phone_number)
        self.twilio_phone_number = twilio_phone_number
        self.google = FakeGoogleCalendar()
        # The service-account key file the server reads; its token_uri is the Google fake.
        self._google_dir = Path(tempfile.mkdtemp(prefix="fake-google-"))
        self.google_service_account_file = self._google_dir / "service-account.json"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The fakes' event loop (running in the background thread)."""
        if self._loop is None:
            raise RuntimeError("ProviderFakes is not started")
        return self._loop

    def _fakes(
        self,
    ) -> tuple[FakeDeepgram, FakeOpenAI, FakeCartesia, FakeTwilioREST, FakeGoogleCalendar]:
        return (self.deepgram, self.openai, self.cartesia, self.twilio, self.google)

    def start(self) -> None:
        """Start the loop thread and all four servers (blocks until they listen)."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.call_soon(ready.set)
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="provider-fakes", daemon=True)
        self._thread.start()
        ready.wait()
        try:
            self.call(self._start_all())
        except BaseException:
            self.stop()
            raise

    async def _start_all(self) -> None:
        for fake in self._fakes():
            await fake.start()
        self.google_service_account_file.write_text(json.dumps(self.google.service_account_info()))

    def stop(self) -> None:
        """Stop all servers, the loop and its thread."""
        if self._loop is None or self._thread is None:
            return
        try:
            self.call(self._stop_all())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
            self._loop = None
            self._thread = None
            shutil.rmtree(self._google_dir, ignore_errors=True)

    async def _stop_all(self) -> None:
        for fake in self._fakes():
            await fake.stop()
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the fakes' loop and return its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def reset(self) -> None:
        """Clear every record, script, failure plan and knob (between tests)."""
        self.call(self._reset_all())

    async def _reset_all(self) -> None:
        for fake in self._fakes():
            await fake.reset()

    def env(self) -> dict[str, str]:
        """Environment variables pointing the server under test at the fakes.

        ``CARTESIA_BASE_URL`` is ``ws://127.0.0.1:PORT`` without a path: the server appends
        ``/tts/websocket``. ``DEEPGRAM_BASE_URL`` is passed as is to
        ``DeepgramSTTService(base_url=...)`` (the SDK appends ``/v1/listen``).
        """
        return {
            "DEEPGRAM_BASE_URL": self.deepgram.url,
            "DEEPGRAM_API_KEY": "test-deepgram",
            "OPENAI_BASE_URL": self.openai.url,
            "OPENAI_API_KEY": "test-openai",
            "OPENAI_MODEL": "fake-model",
            "CARTESIA_BASE_URL": f"ws://127.0.0.1:{self.cartesia.port}",
            "CARTESIA_API_KEY": "test-cartesia",
            "CARTESIA_VOICE_ID": "test-voice",
            "TWILIO_API_BASE_URL": self.twilio.url,
            "TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio.auth_token,
            "TWILIO_PHONE_NUMBER": self.twilio_phone_number,
            "GOOGLE_CALENDAR_ID": DEFAULT_CALENDAR_ID,
            "GOOGLE_SERVICE_ACCOUNT_FILE": str(self.google_service_account_file),
            "GOOGLE_CALENDAR_BASE_URL": self.google.api_endpoint,
        }

    def __enter__(self) -> ProviderFakes:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
