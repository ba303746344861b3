// The receptionist's WebRTC test page: plain RTCPeerConnection against Pipecat's SmallWebRTC
// endpoints (POST / PATCH /api/offer), no libraries and no build step, so it works offline.
//
// Access: every /api request carries the page token (Authorization: Bearer). It arrives once in
// the URL the server logs at start-up (…/#token=…; a fragment is never sent to the server), is
// kept in sessionStorage for this tab, and is removed from the address bar at once.
//
// Media: one audio transceiver (the microphone out, the receptionist in). Events from the call
// (transcript, tool calls, latency, the end) arrive on the data channel as
// {"type": "receptionist-event", "kind": ..., "data": ...}.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"), profile: $("profile"), caller: $("caller"),
    connect: $("connect"), hangup: $("hangup"), error: $("error"),
    micLevel: $("mic-level"), botLevel: $("bot-level"), callId: $("call-id"),
    iceState: $("ice-state"), endState: $("end-state"), audio: $("bot-audio"),
    timeline: $("timeline"), latency: $("latency"),
  };
  // How long to wait for ICE gathering before sending the offer; later candidates are trickled
  // with PATCH. Without STUN, host candidates are all there within a few milliseconds.
  const GATHER_WAIT_MS = 1500;
  const DISCONNECT_GRACE_MS = 5000;
  const STORAGE_KEY = "receptionist-test-page";
  const TOKEN_KEY = "receptionist-test-page-token";
  const token = takeToken();

  let iceServers = [];
  let call = null; // {pc, channel, stream, pcId, callId, pending: [], offerSent, ended}
  let audioContext = null;
  let turnCount = 0;

  // ---- setup ---------------------------------------------------------------------------------

  function takeToken() {
    const fromUrl = new URLSearchParams(location.hash.slice(1)).get("token")
      || new URLSearchParams(location.search).get("token");
    if (fromUrl) {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
      history.replaceState(null, "", location.pathname);
    }
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  function api(path, options = {}) {
    const headers = { ...(options.headers || {}), Authorization: `Bearer ${token}` };
    return fetch(path, { ...options, headers });
  }

  async function init() {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
    ui.caller.value = saved.caller || "";
    try {
      if (!token) throw new Error("this page needs its token: open the URL the server logged at start-up (…/#token=…)");
      const response = await api("/api/profiles");
      if (!response.ok) throw new Error(await errorText(response));
      const config = await response.json();
      iceServers = config.ice_servers || [];
      for (const p of config.profiles) {
        const option = new Option(p.business, p.name);
        option.title = `${p.name} · ${p.phone}`;
        ui.profile.add(option);
      }
      if (saved.profile && config.profiles.some((p) => p.name === saved.profile)) {
        ui.profile.value = saved.profile;
      }
      ui.connect.disabled = false;
    } catch (err) {
      showError(`Could not load the business profiles: ${err.message}`);
    }
    ui.connect.addEventListener("click", () => connect().catch(failed));
    ui.hangup.addEventListener("click", () => hangUp("You hung up."));
    window.addEventListener("beforeunload", () => call && call.pc.close());
  }

  // ---- connecting ------------------------------------------------------------------------------

  async function connect() {
    clearError();
    resetView();
    setStatus("connecting", "Connecting…");
    ui.connect.disabled = true;
    ui.profile.disabled = ui.caller.disabled = true;
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ profile: ui.profile.value, caller: ui.caller.value }));

    audioContext = audioContext || new AudioContext();
    await audioContext.resume();
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    const pc = new RTCPeerConnection({ iceServers: iceServers.map((urls) => ({ urls })) });
    const current = { pc, stream, channel: null, pcId: null, callId: null, pending: [], offerSent: false, ended: false };
    call = current;
    ui.hangup.disabled = false; // hanging up while connecting cancels the call
    meter(stream, ui.micLevel);

    // SmallWebRTC maps transceivers by position: audio, camera, screen. The two video ones only
    // hold their places (nothing is sent on them), so the server finds all three.
    pc.addTransceiver(stream.getAudioTracks()[0], { direction: "sendrecv" });
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    current.channel = pc.createDataChannel("events", { ordered: true });
    current.channel.onmessage = (event) => onMessage(event.data);
    pc.ontrack = (event) => {
      if (event.track.kind !== "audio") return;
      const remote = event.streams[0] || new MediaStream([event.track]);
      ui.audio.srcObject = remote; // Chrome only feeds WebAudio from a remote stream that plays
      meter(remote, ui.botLevel);
    };
    pc.onicecandidate = (event) => trickle(event.candidate);
    pc.onconnectionstatechange = () => onConnectionState(pc.connectionState);
    pc.oniceconnectionstatechange = () => { ui.iceState.textContent = `ICE ${pc.iceConnectionState}`; };

    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, GATHER_WAIT_MS);
    if (current.ended) return;
    current.offerSent = true;
    const response = await api("/api/offer", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        sdp: pc.localDescription.sdp,
        type: "offer",
        request_data: { profile: ui.profile.value, caller: ui.caller.value.trim() || null },
      }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const answer = await response.json();
    if (current.ended) return; // hung up while the server answered: it sees the ICE fail
    current.pcId = answer.pc_id;
    setCallId(answer.call_id);
    await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
    await flushCandidates();
  }

  function gathered(pc, timeoutMs) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
      const check = () => { if (pc.iceGatheringState === "complete") done(); };
      pc.addEventListener("icegatheringstatechange", check);
      setTimeout(done, timeoutMs);
    });
  }

  // Candidates found before the offer was sent are in its SDP; later ones go by PATCH.
  function trickle(candidate) {
    if (!call || !call.offerSent) return;
    call.pending.push({
      candidate: candidate ? candidate.candidate : "",
      sdp_mid: candidate ? candidate.sdpMid : "0",
      sdp_mline_index: candidate ? candidate.sdpMLineIndex : 0,
    });
    if (call.pcId) flushCandidates().catch(() => {}); // ICE may still succeed without them
  }

  async function flushCandidates() {
    if (!call || !call.pcId || call.pending.length === 0) return;
    const candidates = call.pending.splice(0);
    await api("/api/offer", {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pc_id: call.pcId, candidates }),
    });
  }

  function onConnectionState(state) {
    if (!call) return;
    if (state === "connected") setStatus("live", "In call");
    else if (state === "connecting") setStatus("connecting", "Connecting…");
    else if (state === "failed") hangUp("The connection failed (ICE). See the server log.");
    else if (state === "closed") hangUp("The call was disconnected.");
    else if (state === "disconnected") {
      // Often a blip that heals by itself; give it a few seconds before giving up.
      setStatus("connecting", "Connection interrupted…");
      const pc = call.pc;
      setTimeout(() => {
        if (call && call.pc === pc && pc.connectionState === "disconnected") hangUp("The connection was lost.");
      }, DISCONNECT_GRACE_MS);
    }
  }

  function hangUp(reason) {
    if (!call || call.ended) return;
    call.ended = true;
    // Closing the peer connection is what tells the server at once that the caller hung up.
    call.pc.close();
    call.stream.getTracks().forEach((track) => track.stop());
    ui.audio.srcObject = null;
    setStatus("ended", "Call ended");
    if (ui.endState.textContent === "—") ui.endState.textContent = reason;
    ui.hangup.disabled = true;
    ui.connect.disabled = false;
    ui.connect.textContent = "Call again";
    ui.profile.disabled = ui.caller.disabled = false;
  }

  function failed(err) {
    showError(err.message || String(err));
    if (call) hangUp("Could not connect.");
    else {
      setStatus("idle", "Not connected");
      ui.connect.disabled = false;
      ui.profile.disabled = ui.caller.disabled = false;
    }
  }

  // ---- events from the call --------------------------------------------------------------------

  function onMessage(raw) {
    let message;
    try { message = JSON.parse(raw); } catch { return; }
    if (message.type === "receptionist-event") {
      const handler = handlers[message.kind];
      if (handler) handler(message.data || {});
    } else if (message.type === "signalling" && message.message && message.message.type === "peerLeft") {
      // The server closes the call (a goodbye, the time limit, shutdown). Its "renegotiate"
      // requests are about video, which this page does not send, so they are ignored.
      ui.endState.textContent = "The receptionist ended the call.";
      hangUp("The receptionist ended the call.");
    }
  }

  const handlers = {
    call(data) { setCallId(data.call_id); },

    transcript(data) {
      const who = data.role === "caller" ? "caller" : "bot";
      const item = entry(`turn ${who}`);
      item.append(el("div", "speaker", who === "caller" ? "Caller" : "Receptionist"));
      item.append(el("p", "words", data.text));
      if (data.interrupted) {
        item.classList.add("interrupted");
        item.append(el("span", "badge warn", "interrupted: the caller talked over the rest"));
      }
    },

    tool_call(data) {
      const ok = data.result && data.result.ok !== false;
      const item = entry(`tool ${ok ? "ok" : "fail"}`);
      const head = el("div", "tool-head");
      head.append(el("span", "badge tool-badge", "tool"), el("code", "tool-name", data.name));
      head.append(el("span", `badge ${ok ? "good" : "warn"}`, ok ? "ok" : "error"));
      head.append(el("span", "muted", `${Number(data.duration_ms).toFixed(1)} ms`));
      item.append(head);
      item.append(labelled("Arguments", data.arguments), labelled("Result", data.result));
    },

    latency(data) {
      const greeting = data.measured_from === "client_connected";
      const title = greeting ? "Greeting" : `Turn ${++turnCount}`;
      if (ui.latency.querySelector(".empty")) ui.latency.textContent = "";
      const row = el("li", "latency-row");
      const head = el("div", "latency-head");
      head.append(el("span", "latency-title", title), el("span", "latency-total", ms(data.total_ms)));
      row.append(head);
      const chips = el("div", "chips");
      for (const [key, label] of [["stt_ttfb_ms", "STT"], ["llm_ttfb_ms", "LLM first token"], ["tts_ttfb_ms", "TTS first audio"]]) {
        if (data[key] != null) chips.append(el("span", `chip ${key.slice(0, 3)}`, `${label} ${ms(data[key])}`));
      }
      if (data.turn_wait_ms != null) chips.append(el("span", "chip wait", `end of turn ${ms(data.turn_wait_ms)}`));
      row.append(chips, waterfall(data.contributions || [], data.total_ms));
      ui.latency.prepend(row);
      const marker = entry("marker");
      marker.textContent = `${title}: first audio after ${ms(data.total_ms)}`;
    },

    emergency(data) {
      const item = entry("alert");
      const kind = data.life_threatening ? "Life-threatening emergency" : "Emergency";
      item.append(el("strong", null, `${kind} flagged`), el("span", null, `: ${data.reason}. The owner is being alerted.`));
    },

    ended(data) {
      ui.endState.textContent = `${data.status} (${data.reason})`;
    },
  };

  function waterfall(parts, total) {
    const bar = el("div", "waterfall");
    for (const part of parts) {
      if (!(part.ms > 0) || !(total > 0)) continue;
      const seg = el("span", `seg seg-${part.key}`);
      seg.style.width = `${Math.max(1, (100 * part.ms) / total)}%`;
      seg.title = `${part.label}: ${ms(part.ms)}`;
      bar.append(seg);
    }
    const legend = el("div", "legend");
    for (const part of parts) {
      if (part.ms > 0) legend.append(el("span", `legend-item seg-${part.key}`, `${part.label} ${ms(part.ms)}`));
    }
    const wrap = el("div");
    wrap.append(bar, legend);
    return wrap;
  }

  // ---- audio level meters ----------------------------------------------------------------------

  function meter(stream, bar) {
    const owner = call; // the meter stops with its own call, not with the next one
    const analyser = audioContext.createAnalyser();
    analyser.fftSize = 1024;
    audioContext.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let level = 0;
    const tick = () => {
      if (call !== owner || owner.ended) {
        if (call === owner) bar.style.width = "0%";
        return;
      }
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      // dBFS from -60 to 0 onto 0..100 %, falling slowly so speech is readable.
      const target = Math.min(100, Math.max(0, (20 * Math.log10(rms + 1e-9) + 60) * (100 / 60)));
      level = Math.max(target, level * 0.9);
      bar.style.width = `${level.toFixed(1)}%`;
      requestAnimationFrame(tick);
    };
    tick();
  }

  // ---- small DOM helpers -----------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function entry(className) {
    const empty = ui.timeline.querySelector(".empty");
    if (empty) empty.remove();
    const item = el("li", className);
    ui.timeline.append(item);
    item.scrollIntoView({ block: "end", behavior: "smooth" });
    return item;
  }

  function labelled(label, value) {
    const box = el("div", "kv");
    box.append(el("span", "kv-label", label), el("pre", "json", JSON.stringify(value, null, 2)));
    return box;
  }

  function ms(value) { return value == null ? "—" : `${Math.round(value)} ms`; }

  function setStatus(state, text) { ui.status.dataset.state = state; ui.status.textContent = text; }

  function setCallId(id) {
    if (!id || !call) return;
    call.callId = id;
    ui.callId.textContent = id;
  }

  function resetView() {
    turnCount = 0;
    ui.timeline.textContent = "";
    ui.latency.textContent = "";
    ui.latency.append(el("li", "empty", "No turns yet."));
    ui.callId.textContent = "—";
    ui.endState.textContent = "—";
    ui.iceState.textContent = "—";
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (typeof body.detail === "string") return body.detail;
      return JSON.stringify(body.detail);
    } catch {
      return `The server answered ${response.status}.`;
    }
  }

  function showError(text) { ui.error.textContent = text; ui.error.hidden = false; }
  function clearError() { ui.error.hidden = true; ui.error.textContent = ""; }

  // For the browser test and the devtools console: the live call, read-only.
  window.receptionist = {
    get pc() { return call && call.pc; },
    get callId() { return call && call.callId; },
  };

  init();
})();
