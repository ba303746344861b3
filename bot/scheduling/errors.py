"""Every failure the scheduling domain reports, each with a sentence the receptionist can say.

    SchedulingError                 expected business failure; `.spoken` is safe to read aloud
    ├── DateError                   the caller's day or time cannot be used (no February 30,
    │                               a spring-forward gap, in the past, too far ahead, unclear)
    ├── SlotTaken                   someone else got the slot first; offer fresh options
    ├── BookingNotFound             no booking matches what the caller proved (never says why)
    └── CalendarError               the calendar itself failed
        ├── CalendarUnavailable     transient: timeouts, 429, 5xx, rate-limit 403s after the
        │                           retry budget; the request is kept as pending
        ├── CalendarRejected        permanent: 400, permission 403, unknown calendar; never retried
        └── CalendarConflict        the owner changed the event by hand (412 and the time moved);
                                    we never overwrite their edit

Messages never contain another customer's details, provider error text or stack traces.
"""

from __future__ import annotations


class SchedulingError(Exception):
    """An expected scheduling failure with a speakable explanation."""

    def __init__(self, spoken: str, *, reason: str = "") -> None:
        super().__init__(spoken)
        self.spoken = spoken
        self.reason = reason or type(self).__name__


class DateError(SchedulingError):
    """The requested day or time cannot be booked as said."""


class SlotTaken(SchedulingError):
    """The slot was claimed by another booking (or an event the owner added) first."""

    def __init__(self, spoken: str = "I'm sorry, that time was just taken.") -> None:
        super().__init__(spoken, reason="slot_taken")


class BookingNotFound(SchedulingError):
    """Nothing matches the details the caller gave (deliberately vague)."""

    def __init__(
        self,
        spoken: str = "I couldn't find an appointment that matches those details.",
    ) -> None:
        super().__init__(spoken, reason="not_found")


class CalendarError(SchedulingError):
    """The calendar backend failed."""


class CalendarUnavailable(CalendarError):
    """The calendar could not be reached within the budget a caller on the line can wait."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("I can't reach the calendar right now.", reason="calendar_unavailable")
        self.detail = detail  # status code or exception class; never provider text


class CalendarRejected(CalendarError):
    """The calendar refused the request for a reason retrying will not fix."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("The calendar refused that change.", reason="calendar_rejected")
        self.detail = detail


class CalendarConflict(CalendarError):
    """The event was changed by hand since we last saw it; our change was not applied."""

    def __init__(self) -> None:
        super().__init__(
            "The office has changed this appointment recently, so I can't change it from here.",
            reason="owner_edited",
        )
