"""Reading a file the user named, with the one-line error every command gives."""

from __future__ import annotations

from pathlib import Path

from core.errors import InputError


def read_bytes(path: Path, *, limit: int | None = None) -> bytes:
    """``path``'s bytes (with ``limit``, at most ``limit + 1`` of them, so the caller can
    tell a file too long); one that cannot be read is ``InputError(path, "cannot read:
    <why>")``: exit 2, never a traceback."""
    try:
        if limit is None:
            return path.read_bytes()
        with path.open("rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
