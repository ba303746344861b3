"""The receptionist's core: settings, business profile, storage and Twilio plumbing.

Nothing in `bot/` (except `bot/runner.py`) imports Pipecat, so domain logic can be tested on its own.
"""
