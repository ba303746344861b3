"""One default TLS context per HTTP library, instead of one per client (patches httpx/httpx2).

Relies on the private `httpx._transports.default.create_ssl_context` (and httpx2's twin), which
every client calls when it is built. Checked by tests/test_pipecat_contract.py.
"""

from __future__ import annotations

from functools import cache


def share_default_tls_contexts() -> None:
    """Build the default certificate-verifying TLS context once per HTTP library, not per call.

    Every call builds a Deepgram client (httpx) and an OpenAI client (httpx2), and each builds a
    fresh `ssl.SSLContext`, parsing the whole CA bundle: about 40 ms of CPU each, on the event
    loop, so every other call's audio stalls while a new call starts. The default context
    (verify=True, no client certificate) is the same every time; only that case is shared.
    Clients here never enable HTTP/2, so the ALPN list httpcore sets on connect is the same too.
    """
    import httpx._transports.default as httpx_default

    modules = [httpx_default]
    try:
        import httpx2._transports.default as httpx2_default

        modules.append(httpx2_default)
    except ImportError:  # older openai SDKs use httpx
        pass
    for module in modules:
        original = module.create_ssl_context
        if getattr(original, "_shared", False):
            continue

        @cache
        def _default(trust_env: bool, _create=original):  # type: ignore[no-untyped-def]
            return _create(verify=True, cert=None, trust_env=trust_env)

        def create_ssl_context(
            verify=True, cert=None, trust_env=True, _create=original, _default=_default
        ):  # type: ignore[no-untyped-def]
            if verify is True and cert is None:
                return _default(trust_env)
            return _create(verify=verify, cert=cert, trust_env=trust_env)

        create_ssl_context._shared = True  # type: ignore[attr-defined]
        module.create_ssl_context = create_ssl_context  # type: ignore[attr-defined]  # patched in place
