"""Which alert an owner's text names (bot.alerts.named_alert): pure, table-tested."""

import pytest

from bot.alerts import alert_ref, named_alert


@pytest.mark.parametrize(
    ("body", "alert"),
    [
        ("OK A7", 7),
        ("ok a7", 7),
        ("#A12 on my way", 12),
        ("Got it, A 3", 3),
        ("7", 7),
        ("ok 7", 7),
        ("  #7. ", 7),
        ("On my way", None),
        ("Call me back at 5551234 when you can", None),
        ("I'll be there at 7pm", None),
        ("", None),
    ],
)
def test_an_owner_reply_names_an_alert_or_none(body, alert):
    assert named_alert(body) == alert


def test_alert_reference_round_trips():
    assert named_alert(f"OK {alert_ref(42)}") == 42
