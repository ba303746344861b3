"""Pipecat pipelines: one per call, shared by every transport (Twilio, WebRTC)."""
