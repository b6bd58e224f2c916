"""Time zone names a contract may use: canonical IANA names only.

``ZoneInfo`` opens whatever file the name leads to under the system's zoneinfo
folder, so ``localtime`` (this machine's zone, different on the provider's),
``posix/Europe/Paris`` and ``right/Europe/Paris`` (leap-second clocks, 27 s
off), ``Factory`` (no zone at all) and ``posixrules`` all load. A contract or
a claim bundle naming one of them would mean a different month on another
machine, so only the names the IANA database publishes (``Europe/Paris``,
``UTC``, ``America/Argentina/Buenos_Aires``) are accepted.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]{0,29}(/[A-Za-z0-9][A-Za-z0-9_+\-]{0,29}){0,2}$")
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules", "leapseconds", "leap-seconds"})
_NOT_PREFIXES = ("posix/", "right/", "SystemV/")


def zone(name: str) -> ZoneInfo:
    """The zone ``name`` names, or ValueError saying why it is not a canonical IANA name."""
    if name in _NOT_ZONES or name.startswith(_NOT_PREFIXES):
        raise ValueError(f"{name[:60]!r} is not a canonical IANA time zone (e.g. Europe/Paris)")
    if not _NAME_RE.match(name) or name.endswith((".tab", ".zi", ".list")):
        raise ValueError(f"unknown time zone {name[:60]!r} (e.g. UTC, Europe/Paris)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, not a zone
        raise ValueError(f"unknown time zone {name[:60]!r} (e.g. UTC, Europe/Paris)") from None
