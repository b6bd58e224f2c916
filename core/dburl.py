"""Database URLs as people see them: never with the password."""

from __future__ import annotations

import re

_PASSWORD = re.compile(r"^(?P<head>[a-z][a-z0-9+.-]*://[^:/@?#]*):[^@/?#]*@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` with any password (``user:secret@`` or ``?password=``) shown as ``***``."""
    masked = _PASSWORD.sub(lambda m: f"{m.group('head')}:***@", url)
    return _QUERY_PASSWORD.sub(r"\1***", masked)
