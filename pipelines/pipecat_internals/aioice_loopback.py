"""aiortc offering 127.0.0.1 as an ICE host candidate (wraps `aioice.ice.get_host_addresses`).

Used by the WebRTC test page only. Checked by tests/test_pipecat_contract.py.
"""

from __future__ import annotations

from collections.abc import Callable

import aioice.ice


def offer_loopback_candidates() -> None:
    """Make aiortc offer 127.0.0.1 as a host candidate, besides the usual addresses.

    aioice never gathers 127.0.0.1 (`aioice.ice.get_host_addresses` filters it out), so a bot on
    a machine or network namespace whose only interface is `lo` offers no candidate and ICE
    cannot start; a headless browser that is only allowed loopback
    (`--allow-loopback-in-peer-connection`) then has nothing to pair with. aioice has no option
    for this, so its module function is wrapped. The wrap is process-wide, which is acceptable
    because this server has no other aiortc peers, and it is applied only when no ICE servers are
    configured (loopback use); the extra candidate is harmless to a browser elsewhere.
    """
    original: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses
    if getattr(original, "offers_loopback", False):
        return

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = original(use_ipv4, use_ipv6)
        return [*addresses, "127.0.0.1"] if use_ipv4 and "127.0.0.1" not in addresses else addresses

    with_loopback.offers_loopback = True  # type: ignore[attr-defined]
    aioice.ice.get_host_addresses = with_loopback
