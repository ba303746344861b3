"""What the owner hears when they call in: counts first, then times and names. No ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.speech import speak_phone, speak_time
from bot.storage import Store

# Parts of a day, for "any emergencies this afternoon?".
PARTS = {
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(23, 59, 59)),
    "day": (time(0), time(23, 59, 59)),
}
WINDOWS = (
    "today",
    "this morning",
    "this afternoon",
    "this evening",
    "tonight",
    "yesterday",
    "last night",
    "last 24 hours",
    "this week",
)


@dataclass(frozen=True)
class Window:
    """A stretch of time in UTC, with the words the owner used for it."""

    start: datetime
    end: datetime
    words: str


def resolve_window(words: str, now: datetime, tz: ZoneInfo) -> Window:
    """Turn 'this afternoon', 'yesterday', 'last 24 hours'... into a UTC window."""
    local_now = now.astimezone(tz)
    today = local_now.date()

    def span(day: date, part: str) -> tuple[datetime, datetime]:
        lo, hi = PARTS[part]
        return datetime.combine(day, lo, tz), datetime.combine(day, hi, tz)

    key = words.strip().lower()
    if key in ("this morning", "this afternoon", "this evening"):
        start, end = span(today, key.split()[1])
    elif key == "tonight":
        start, end = span(today, "evening")
    elif key == "yesterday":
        start, end = span(today - timedelta(days=1), "day")
    elif key == "last night":
        start = datetime.combine(today - timedelta(days=1), time(17), tz)
        end = datetime.combine(today, time(7), tz)
    elif key == "last 24 hours":
        start, end = local_now - timedelta(hours=24), local_now
    elif key == "this week":
        monday = today - timedelta(days=today.weekday())
        start, end = datetime.combine(monday, time(0), tz), local_now
    else:  # "today" and anything unrecognised: the whole of today
        start, end = span(today, "day")
    return Window(start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC")), key)


def _local_clock(iso: str, tz: ZoneInfo) -> str:
    return speak_time(datetime.fromisoformat(iso).astimezone(tz))


async def emergencies_report(store: Store, window: Window, tz: ZoneInfo) -> dict[str, Any]:
    """Emergency alerts raised in the window, for the ear."""
    rows = await store.read_all(
        "SELECT a.created_at, a.summary, a.status FROM alerts a"
        " WHERE a.created_at >= ? AND a.created_at < ? ORDER BY a.created_at",
        (window.start.isoformat(), window.end.isoformat()),
    )
    if not rows:
        return {"count": 0, "spoken": f"No emergencies {window.words}."}
    parts = []
    for created, summary, status in rows:
        what = summary.split(": ", 1)[-1].split(". Callback")[0]
        state = "acknowledged" if status == "acknowledged" else "not yet acknowledged"
        parts.append(f"At {_local_clock(created, tz)}, {what}, {state}.")
    noun = "emergency" if len(rows) == 1 else "emergencies"
    return {"count": len(rows), "spoken": f"{len(rows)} {noun} {window.words}. " + " ".join(parts)}


async def messages_report(store: Store, tz: ZoneInfo, *, mark_read: bool = True) -> dict[str, Any]:
    """Messages nobody has handled yet, oldest first; reading them out marks them handled."""
    rows = await store.read_all(
        "SELECT id, created_at, caller_name, callback, body, urgency, source FROM messages"
        " WHERE handled_at IS NULL ORDER BY created_at"
    )
    if not rows:
        return {"count": 0, "spoken": "No messages waiting."}
    parts = []
    for _, created, name, callback, body, urgency, source in rows:
        who = name or ("a voicemail" if source == "voicemail" else "a caller")
        flag = ", urgent" if urgency == "urgent" else ""
        number = f" Call back on {speak_phone(callback)}." if callback else ""
        parts.append(f"At {_local_clock(created, tz)}, {who}{flag}: {body}.{number}")
    if mark_read:
        ids = [r[0] for r in rows]
        async with store.transaction() as db:
            await db.execute(
                f"UPDATE messages SET handled_at = ? WHERE id IN ({','.join('?' * len(ids))})",
                (datetime.now(ZoneInfo("UTC")).isoformat(), *ids),
            )
    noun = "message" if len(rows) == 1 else "messages"
    return {"count": len(rows), "spoken": f"You have {len(rows)} {noun}. " + " ".join(parts)}
