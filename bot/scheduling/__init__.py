"""Scheduling: dates from the caller's words, availability, bookings, and the calendars.

Plain domain code: no Pipecat imports (a test enforces it). Modules:
- `when`: the caller's words -> local days and times, from a trusted now (a table of rules).
- `localtime`: local wall times <-> UTC instants, the DST rules; how a slot start is spoken.
- `availability`: which starts can be offered (hours, blackouts, buffer, notice, horizon).
- `ledger`: SQLite claims that make a double booking impossible on this host.
- `calendar`: the `Calendar` protocol and the built-in SQLite calendar.
- `google_calendar`: Google Calendar behind the same ledger (ids, etags, the four layers);
  `google_api` its HTTP client (auth, retries, budget); `google_events` the pure event mapping.
- `identity`: proof that a booking is the caller's before it is read back or changed.
- `service`: `Scheduler`, what the tools call; `state`: what one call has seen and proved.
- `backends`: Google when configured, else the built-in calendar.
- `errors`: every failure, each with a sentence the receptionist can say.
"""
