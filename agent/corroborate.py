"""What an HTTP(S) answer leaves for the provider to find in its own logs.

``seen`` reads it off a response the probe has just received: the ``Date``,
``X-Request-Id``, ``traceparent`` and ``CF-Ray`` headers, the status code, the
server's IP address and the SHA-256 of its certificate. It is cheap (a few
header look-ups; the certificate's SHA-256 costs a few microseconds), so every
answer gets it and the agent keeps it for the probes that fail
(``core.corroboration``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from core.corroboration import HEADERS, Corroboration, clean


def seen(response: httpx.Response, at: datetime, error: str | None = None) -> Corroboration:
    """The corroboration of one answer (an httpx response), sent at ``at``."""
    stream: Any = response.extensions.get("network_stream")
    peer = ssl_object = None
    if stream is not None:
        peer = stream.get_extra_info("server_addr")
        ssl_object = stream.get_extra_info("ssl_object")
    return seen_parts(at, response.status_code, response.headers.get, peer, ssl_object, error)


def seen_parts(
    at: datetime,
    status: int,
    header: Callable[[str], str | None],
    peer: Any,
    ssl_object: Any,
    error: str | None = None,
) -> Corroboration:
    """The corroboration of one answer from its parts: its status, a header look-up,
    the server's address (``getpeername``) and the TLS connection's ``SSLObject``."""
    values = {key: clean(header(name)) for key, name in HEADERS}
    ip: str | None = None
    cert: str | None = None
    if isinstance(peer, tuple) and peer and isinstance(peer[0], str):
        ip = peer[0]
    if ssl_object is not None:
        der = ssl_object.getpeercert(binary_form=True)
        if der:
            # as ``openssl x509 -fingerprint -sha256`` shows it, without colons
            cert = hashlib.sha256(der).hexdigest()
    return Corroboration(
        at, error, status, ip, cert,
        values["date"], values["x_request_id"], values["traceparent"], values["cf_ray"],
    )  # fmt: skip
