"""Database URLs as people see them: never with the password."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

_PASSWORD = re.compile(r"^(?P<head>[a-z][a-z0-9+.-]*://[^:/@?#]*):[^@/?#]*@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` with any password (``user:secret@`` or ``?password=``) shown as ``***``."""
    masked = _PASSWORD.sub(lambda m: f"{m.group('head')}:***@", url)
    return _QUERY_PASSWORD.sub(r"\1***", masked)


def with_default_user(url: str, user: str, env: Mapping[str, str]) -> str:
    """``url`` logging in as ``user`` when it names no role itself (no ``user@`` and no
    ``?user=``) and ``$PGUSER`` is not set: a fleet agent's role is its name, so one
    config file, copied to every server, logs each agent in as itself. A key=value
    conninfo string (not a URL) is left as it is."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("postgresql", "postgres") or env.get("PGUSER"):
        return url
    if "@" in parts.netloc or any(k == "user" for k, _ in parse_qsl(parts.query)):
        return url
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}@{parts.netloc}"))
