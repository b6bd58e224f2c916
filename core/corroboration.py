"""Corroboration: what a failing request left in the provider's own logs.

A minute record says "down"; only the customer's agent vouches for it. Each
failing HTTP(S) probe also keeps what the provider can look up on its side:
the instant the request was sent, the agent's error class, the HTTP status,
the server IP the agent reached, the SHA-256 fingerprint of the TLS
certificate it was shown, and the answer's ``Date``, ``X-Request-Id``,
``traceparent`` and ``CF-Ray`` headers. A provider who finds those requests in
its load balancer's or CDN's logs has its own record of the outage; one who
finds none can say so, request by request.

A request that got no answer (a timeout before the headers, a refused
connection) keeps what exists: its instant and error class.

Header values come from the provider and are untrusted: each is kept only as
printable ASCII, cut at ``MAX_VALUE`` characters, so a hostile answer cannot
grow the store or break a letter's table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_VALUE = 200
"""The longest header value kept (a CF-Ray is 20 characters, a traceparent 55)."""

HEADERS = (("date", "date"), ("x_request_id", "x-request-id"), ("traceparent", "traceparent"),
           ("cf_ray", "cf-ray"))  # fmt: skip
"""(JSON key, HTTP header name) of each header kept."""

_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
_IP = re.compile(r"^[0-9A-Fa-f.:]{2,45}\Z")


def clean(value: str | None) -> str | None:
    """A header value as kept: printable ASCII, trimmed, at most MAX_VALUE; None if empty."""
    if value is None:
        return None
    text = _PRINTABLE.sub("", value).strip()[:MAX_VALUE]
    return text or None


@dataclass(frozen=True, slots=True)
class Corroboration:
    """One failing request, as the provider can find it in its own logs."""

    at: datetime  # aware UTC: when the request was sent (millisecond precision kept)
    error: str | None = None  # the agent's error class (``status:503``, ``timeout``...)
    http_status: int | None = None  # the answer's status code, when one came
    server_ip: str | None = None  # the address the agent connected to
    tls_sha256: str | None = None  # SHA-256 of the server certificate (DER), lowercase hex
    date: str | None = None  # the answer's Date header, as sent
    x_request_id: str | None = None
    traceparent: str | None = None
    cf_ray: str | None = None
    # When the agent saw it fail (a timeout, a refusal): set only on a request listed
    # under a later minute than the one it was sent in, a minute judged down by it
    # alone (its timeout ended there; docs/probes.md, "Runs that overrun").
    failed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The bundle's form: ``at`` to the millisecond, members left out when unknown."""
        out: dict[str, Any] = {"at": at_text(self.at)}
        for key in ("error", "http_status", "server_ip", "tls_sha256", *(k for k, _ in HEADERS)):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.failed_at is not None:
            out["failed_at"] = at_text(self.failed_at)
        return out

    def lookup(self) -> str:
        """The identifiers a provider searches its logs for, in one line."""
        parts = [f"{name} {getattr(self, key)}" for key, name in _LOOKUP if getattr(self, key)]
        return ", ".join(parts) or "no answer"


_LOOKUP = (
    ("x_request_id", "X-Request-Id"),
    ("cf_ray", "CF-Ray"),
    ("traceparent", "traceparent"),
    ("date", "Date"),
    ("server_ip", "server"),
    ("tls_sha256", "certificate SHA-256"),
)


def at_text(ts: datetime) -> str:
    """``2026-10-03T14:05:03.125Z``: an instant in UTC to the millisecond."""
    ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


KEYS = ("at", "error", "http_status", "server_ip", "tls_sha256", *(k for k, _ in HEADERS),
        "failed_at")  # fmt: skip


def is_fingerprint(text: str) -> bool:
    return bool(_HEX64.match(text))


def is_ip(text: str) -> bool:
    """An IPv4 or IPv6 address in text form."""
    import ipaddress

    if not _IP.match(text):
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
