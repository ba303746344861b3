"""The WebRTC test page in a real browser.

Debian's headless Chromium (driven by Playwright, no browser download) opens `GET /` on the real
server, whose providers are the loopback fakes. Its microphone is a fake device playing
`tests/audio/book_tomorrow_48k.wav`. The call goes through SmallWebRTC and the same pipeline
phone calls use; the test checks both ends: what the page shows and receives, and what the fake
STT heard and the database recorded.

The page is off by default (tests/test_public_surface.py checks that); here it is switched on with
its token, and the API's guards are checked over the wire: the token (401/403 before anything
starts) and the caps on new calls (429).

The browser test re-runs itself inside a new network namespace whose only interface is `lo` (`unshare`),
so ICE can only pair 127.0.0.1 with 127.0.0.1: that proves the no-STUN loopback path (Chromium's
`--allow-loopback-in-peer-connection` and the server's aioice fix), and nothing the browser tries
can leave the machine. Where namespaces are not allowed it runs in place, over whatever host
addresses the machine has.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import httpx
import pytest
from aiortc import RTCPeerConnection
from playwright.async_api import Page, async_playwright, expect

from tests import audio
from tests.fakes.openai import Rule, ScriptedLLM, Text, ToolCall

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
# The real binary: /usr/bin/chromium is a shell wrapper Playwright cannot drive.
CHROMIUM = Path("/usr/lib/chromium/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
BOOK = audio.FIXTURES["book_tomorrow"]
REPLY = "Sure. What time tomorrow morning suits you best?"
CALL_AS = "+15555550123"
# An offer with audio that aiortc cannot answer (no ICE credentials, no DTLS fingerprint).
BROKEN_SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
# Set in the re-run inside the loopback-only network namespace.
IN_NAMESPACE = "RECEPTIONIST_TEST_LOOPBACK_NETNS"
# Silence before the fake microphone speaks, so the caller talks after the greeting ends.
LEAD_SILENCE_SECS = 7.0
PAGE_TOKEN = "page-token-for-tests"
AUTH = {"Authorization": f"Bearer {PAGE_TOKEN}"}
STUN = "stun:stun.example.test:3478"


def chromium_args(mic_wav: Path) -> list[str]:
    """Flags for a headless Chromium with a file-backed microphone and loopback-only WebRTC."""
    return [
        "--no-sandbox",  # root in CI
        "--disable-gpu",
        "--allow-loopback-in-peer-connection",  # else Chromium offers no 127.0.0.1 candidate
        "--use-fake-ui-for-media-stream",  # grant the microphone without a prompt
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic_wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-default-apps",
    ]


def padded_wav(source: Path, target: Path, lead_secs: float) -> Path:
    """Copy a WAV with `lead_secs` of silence in front (Chromium starts it at getUserMedia)."""
    with wave.open(str(source)) as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    silence = b"\0" * (int(lead_secs * params.framerate) * params.sampwidth * params.nchannels)
    with wave.open(str(target), "wb") as dst:
        dst.setparams(params)
        dst.writeframes(silence + frames)
    return target


async def inbound_audio(page: Page) -> dict:
    """The page's inbound-rtp audio stats: bytes received and total audio energy."""
    return await page.evaluate(
        """async () => {
            const pc = window.receptionist.pc;
            if (!pc) return {bytes: 0, energy: 0};
            for (const r of (await pc.getStats()).values()) {
                if (r.type === "inbound-rtp" && r.kind === "audio") {
                    return {bytes: r.bytesReceived || 0, energy: r.totalAudioEnergy || 0};
                }
            }
            return {bytes: 0, energy: 0};
        }"""
    )


async def poll(check, what: str, secs: float):
    """Await `check()` every 200 ms until it returns something truthy; return that."""
    try:
        async with asyncio.timeout(secs):
            while True:
                if value := await check():
                    return value
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"timed out after {secs} s waiting for {what}") from None


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; the test fails rather than skips without it (CI installs it)."""
    assert CHROMIUM.exists(), "install Debian's chromium: apt-get install chromium"
    return CHROMIUM


def loopback_namespace() -> list[str] | None:
    """A command prefix running its argument in a new network namespace with only `lo`, up.

    None where this machine does not allow it (then the test runs in place).
    """
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]
    prefix = [*unshare, "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
    return prefix if probe.returncode == 0 else None


def page_on(server_factory, **env: str):
    """A server with the page switched on, its token set, and the given settings."""
    return server_factory(test_page_enabled="true", test_page_token=PAGE_TOKEN, **env)


@pytest.fixture(scope="module")
def page_server(server_factory):
    """The page on, STUN configured, at most one page call at once and three a minute."""
    return page_on(
        server_factory,
        webrtc_ice_servers=STUN,
        test_page_max_calls="1",
        test_page_calls_per_minute="3",
    )


async def real_offer() -> tuple[RTCPeerConnection, dict]:
    """An offer aiortc can answer (audio plus the page's two video placeholders)."""
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, {"sdp": pc.localDescription.sdp, "type": "offer", "request_data": {}}


def provider_sessions(fakes) -> int:
    return len(fakes.deepgram.connections) + len(fakes.cartesia.connections)


def test_page_routes_validate_what_the_page_sends(page_server):
    server = page_server
    http = httpx.Client(base_url=server.url, timeout=10, headers=AUTH)

    page = http.get("/")
    assert page.status_code == 200 and "Receptionist test call" in page.text
    assert http.get("/web/app.js").status_code == 200
    assert http.get("/web/style.css").headers["content-type"].startswith("text/css")
    assert http.get("/web/../server.py").status_code == 404

    config = http.get("/api/profiles").json()
    names = [p["name"] for p in config["profiles"]]
    assert names[0] == "bristol_plumbing" and "riverside_dental" in names  # server's own first
    assert config["ice_servers"] == [STUN]

    def offer(sdp: str = BROKEN_SDP, **choice: str) -> httpx.Response:
        return http.post("/api/offer", json={"sdp": sdp, "type": "offer", "request_data": choice})

    assert offer(profile="../../etc/passwd").status_code == 422
    assert offer(caller="5551234").status_code == 422  # not E.164
    assert offer(caller="+1555").status_code == 422  # not a possible number
    assert offer(sdp="v=0\r\n").status_code == 422  # no audio
    assert offer(profile="riverside_dental", caller=CALL_AS).status_code == 400  # unanswerable
    patch = {"pc_id": "nope", "candidates": []}
    assert http.patch("/api/offer", json=patch).status_code == 404
    assert server.rows("SELECT id FROM calls") == []  # nothing was started
    assert CALL_AS not in server.log()
    assert PAGE_TOKEN not in server.log()  # a token that was set is never logged


async def test_the_api_needs_the_page_token_before_anything_starts(fakes, page_server):
    pc, body = await real_offer()
    body["request_data"] = {"caller": "+18605550111"}  # the owner's number: same credential
    try:
        async with httpx.AsyncClient(base_url=page_server.url, timeout=10) as http:
            for headers, status in [
                ({}, 401),
                ({"Authorization": "Bearer wrong-token"}, 403),
                ({"Authorization": f"Basic {PAGE_TOKEN}"}, 401),
            ]:
                offer = await http.post("/api/offer", json=body, headers=headers)
                assert offer.status_code == status, offer.text
                patch = {"pc_id": "x", "candidates": []}
                assert (
                    await http.patch("/api/offer", json=patch, headers=headers)
                ).status_code == status
                assert (await http.get("/api/profiles", headers=headers)).status_code == status
            # Checked before the body is read: junk without the token is 401, not 422.
            junk = await http.post("/api/offer", content=b"{not json", headers={})
            assert junk.status_code == 401
            # The page and its assets are code, not a credential.
            assert (await http.get("/")).status_code == 200
            assert (await http.get("/web/app.js")).status_code == 200
        await asyncio.sleep(1.0)
        assert page_server.rows("SELECT id FROM calls") == []
        assert provider_sessions(fakes) == 0 and fakes.openai.requests == []
    finally:
        await pc.close()


async def test_page_calls_over_the_concurrency_cap_get_429(fakes, page_server):
    first_pc, first = await real_offer()
    second_pc, second = await real_offer()
    try:
        async with httpx.AsyncClient(base_url=page_server.url, timeout=20, headers=AUTH) as http:
            ok = await http.post("/api/offer", json=first)
            assert ok.status_code == 200, ok.text
            call_id = ok.json()["call_id"]
            for _ in range(50):  # the call opens its provider sessions at once
                if provider_sessions(fakes) >= 2:
                    break
                await asyncio.sleep(0.1)
            sessions = provider_sessions(fakes)
            assert sessions >= 2
            over = await http.post("/api/offer", json=second)
        assert over.status_code == 429
        assert "at once" in over.json()["detail"] and "1" in over.json()["detail"]
        await asyncio.sleep(1.0)
        assert [r["id"] for r in page_server.rows("SELECT id FROM calls")] == [call_id]
        assert provider_sessions(fakes) == sessions
    finally:
        await first_pc.close()
        await second_pc.close()


async def test_page_calls_over_the_per_minute_cap_get_429_and_a_logged_token_works(
    fakes, server_factory
):
    # No TEST_PAGE_TOKEN: the server makes one and logs the page's URL with it, once.
    server = server_factory(
        test_page_enabled="true", test_page_max_calls="5", test_page_calls_per_minute="1"
    )
    urls = re.findall(r"open (http://\S+/#token=(\S+))", server.log())
    assert len(urls) == 1
    auth = {"Authorization": f"Bearer {urls[0][1]}"}
    first_pc, first = await real_offer()
    second_pc, second = await real_offer()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20, headers=auth) as http:
            ok = await http.post("/api/offer", json=first)
            assert ok.status_code == 200, ok.text
            over = await http.post("/api/offer", json=second)
        assert over.status_code == 429 and "this minute" in over.json()["detail"]
        await asyncio.sleep(1.0)
        assert [r["id"] for r in server.rows("SELECT id FROM calls")] == [ok.json()["call_id"]]
    finally:
        await first_pc.close()
        await second_pc.close()


def rerun_inside(prefix: list[str], nodeid: str) -> None:
    """Run one test in a fresh pytest inside the namespace; fail with its output if it fails."""
    command = [*prefix, sys.executable, "-m", "pytest", nodeid, "-q", "-p", "no:cacheprovider"]
    env = os.environ | {IN_NAMESPACE: "1"}
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=170)
    if run.returncode != 0:
        output = run.stdout[-10_000:] + run.stderr[-2_000:]
        pytest.fail(f"failed in the loopback-only network namespace:\n{output}", pytrace=False)


def test_webrtc_page(fakes, server_factory, chromium, tmp_path, request):
    """Connect, hear the greeting, speak, see transcript, tool call and latency, hang up."""
    inside = os.environ.get(IN_NAMESPACE) == "1"
    if not inside and (prefix := loopback_namespace()) is not None:
        rerun_inside(prefix, request.node.nodeid)
        return

    fakes.deepgram.default_script = [BOOK]
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(when_user_contains="book me in", reply=ToolCall("current_time", {})),
            Rule(after_tool="current_time", reply=Text(REPLY)),
        ],
        default=Text("Sorry, could you say that again?"),
    )
    server = page_on(server_factory)
    mic = padded_wav(audio.path("book_tomorrow_48k.wav"), tmp_path / "mic.wav", LEAD_SILENCE_SECS)
    ARTIFACTS.mkdir(exist_ok=True)
    call_id, pair, console = asyncio.run(call_from_the_page(fakes, server, chromium, mic))

    if inside:
        assert pair == ["127.0.0.1", "127.0.0.1"], pair
    assert not [line for line in console if line.startswith("error")], console
    row = server.rows("SELECT * FROM calls WHERE id = ?", (call_id,))[0]
    assert row["transport"] == "webrtc"
    assert row["status"] == "COMPLETED" and row["end_reason"] == "caller_hung_up"
    assert row["profile"] == "riverside_dental" and row["caller"] == CALL_AS
    assert row["connected_at"] and row["ended_at"]
    turns = server.rows("SELECT role, text FROM turns WHERE call_id = ? ORDER BY seq", (call_id,))
    assert ("caller", BOOK) in [(t["role"], t["text"]) for t in turns]
    tools = server.rows("SELECT name, ok FROM tool_calls WHERE call_id = ?", (call_id,))
    assert [(t["name"], t["ok"]) for t in tools] == [("current_time", 1)]
    log = server.log()
    assert CALL_AS not in log and BOOK not in log


async def call_from_the_page(fakes, server, chromium: Path, mic: Path):
    """One call through the page; returns (call id, ICE pair addresses, console lines)."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=chromium_args(mic)
        )
        page = await browser.new_page(viewport={"width": 1360, "height": 900})
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        try:
            await page.goto(f"{server.url}/#token={PAGE_TOKEN}")
            # The page keeps the token for its requests and takes it out of the address bar.
            await expect(page.locator("#connect")).to_be_enabled(timeout=10_000)
            assert PAGE_TOKEN not in page.url

            # Controls: a profile other than the server's own, and a caller ID.
            await page.select_option("#profile", "riverside_dental")
            await page.fill("#caller", CALL_AS)
            await page.click("#connect")

            # The page connects and shows the id of the call record the server created.
            await expect(page.locator("#status")).to_have_text("In call", timeout=20_000)
            shown_id = page.locator("#call-id")
            await expect(shown_id).to_have_text(re.compile(r"^WR[0-9a-f]{32}$"), timeout=10_000)
            call_id = await shown_id.inner_text()

            # The greeting's audio reaches the browser: RTP bytes carrying real audio energy.
            stats = await poll(lambda: energetic_audio(page), "greeting audio", 20)
            assert stats["bytes"] > 5_000
            pair = await selected_pair(page)

            # The caller's words reach the fake STT, tagged with this call, at 16 kHz.
            timeline = page.locator("#timeline")
            await expect(timeline.locator(".turn.caller")).to_contain_text(BOOK, timeout=30_000)
            stt = [c for c in fakes.deepgram.connections if c["tag"] == call_id]
            assert len(stt) == 1 and stt[0]["sample_rate"] == 16000
            assert stt[0]["audio_bytes"] > 16000 * 2 * 2  # over 2 s of 16-bit audio
            assert fakes.deepgram.sent_texts(call_id) == [BOOK]

            # The tool call, with its arguments and result, then the bot's answer.
            tool = timeline.locator(".tool")
            await expect(tool.locator(".tool-name")).to_have_text("current_time", timeout=15_000)
            await expect(tool).to_contain_text('"timezone": "Europe/London"')
            await expect(timeline.locator(".turn.bot").last).to_contain_text(REPLY, timeout=20_000)

            # Latency of the turn, with the per-stage breakdown.
            turn = page.locator("#latency .latency-row").filter(has_text="Turn 1")
            await expect(turn).to_have_count(1, timeout=10_000)
            await expect(turn.locator(".chip.llm")).to_contain_text("LLM first token")
            await expect(turn.locator(".chip.tts")).to_contain_text("TTS first audio")

            await page.screenshot(path=str(ARTIFACTS / "webrtc_page.png"), full_page=True)

            # Hanging up ends the call and closes its record.
            await page.click("#hangup")
            await expect(page.locator("#status")).to_have_text("Call ended")
            await poll(lambda: record_closed(server, call_id), "the call record to close", 15)
        except BaseException:
            # What a person needs to see why: the page as it was, and the server's side.
            with contextlib.suppress(Exception):
                failed = ARTIFACTS / "webrtc_page_failed.png"
                await page.screenshot(path=str(failed), full_page=True)
            print(
                "--- server log ---",
                server.log()[-6_000:],
                "--- page console ---",
                *console,
                sep="\n",
            )
            raise
        finally:
            await browser.close()
    return call_id, pair, console


async def energetic_audio(page: Page) -> dict | None:
    stats = await inbound_audio(page)
    return stats if stats["energy"] > 0.05 else None


async def selected_pair(page: Page) -> list[str]:
    """Local and remote addresses of the ICE candidate pair the page's connection uses."""
    return await page.evaluate(
        """async () => {
            const stats = await window.receptionist.pc.getStats();
            for (const r of stats.values()) {
                if (r.type === "transport" && r.selectedCandidatePairId) {
                    const p = stats.get(r.selectedCandidatePairId);
                    return [stats.get(p.localCandidateId).address, stats.get(p.remoteCandidateId).address];
                }
            }
            return [];
        }"""
    )


async def record_closed(server, call_id: str) -> bool:
    rows = server.rows("SELECT status FROM calls WHERE id = ?", (call_id,))
    return bool(rows) and rows[0]["status"] != "ACTIVE"
