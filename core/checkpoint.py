"""Checkpoints: a store's heads, signed, held by someone other than the customer.

A hash chain proves that the records agree with each other, not that they are
the records the agent made: whoever holds the database can rewrite an hour and
re-seal every chain from its genesis. A checkpoint closes that gap the way
Certificate Transparency does. At least hourly the agent signs the heads it
vouches for (the audit trail's Merkle tree head, and the latest link of each of
its chains) and sends them out, to the provider's support address or to a
webhook an auditor keeps. A history rewritten later no longer contains the
links the provider already holds, and ``slawatch checkpoint verify`` names the
place.

The text is a signed note in the style of the transparency-log checkpoint
format (``c2sp.org/tlog-checkpoint`` and ``signed-note``)::

    slawatch/paris-1                       origin: which agent's word this is
    42                                     audit trail: number of entries
    3q2+7w...=                             audit trail: RFC 9162 tree head, base64
    time 2026-12-06T21:00:00Z              when it was made (UTC)
    chain portal paris-1 493270 Zm9v...=   one line per chain: service, source,
                                           its last complete UTC hour, that hour's link
    (blank line)
    — paris-1 AAAAAdGhl...=                 key name, base64(key id || Ed25519 signature)

Names are percent-encoded so a space cannot split a line. The key id is the
first four bytes of SHA-256(key name || "\\n" || 0x01 || public key), as in the
signed-note format, so a verifier holding several keys knows which to use.

Pure: the Ed25519 key objects are passed in; reading key files is the
caller's job.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core import merkle
from core.errors import InputError
from core.timeutil import END_INSTANT, FIRST_INSTANT, from_minute, iso_z, parse_instant, to_minute

ORIGIN_PREFIX = "slawatch/"
_SIG_PREFIX = "\u2014 "  # an em dash and a space, as signed notes write it
_ED25519 = b"\x01"
MAX_NOTE_BYTES = 4 << 20  # a checkpoint of 10,000 chains is about 1 MiB


@dataclass(frozen=True)
class Head:
    """The latest sealed hour of one (service, source) chain and its link."""

    service: str
    source: str
    hour: int  # UTC epoch hour
    link: bytes  # 32 bytes: SHA-256 over every earlier hour of the chain

    @property
    def name(self) -> str:
        return f"{self.service}/{self.source}"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    audit_size: int
    audit_root: bytes
    at: datetime
    heads: tuple[Head, ...]

    def body(self) -> str:
        """The signed text (every line ends with a newline)."""
        lines = [
            self.origin,
            str(self.audit_size),
            base64.b64encode(self.audit_root).decode(),
            f"time {iso_z(self.at)}",
        ]
        lines += [
            f"chain {quote(h.service, safe='')} {quote(h.source, safe='')} {h.hour} "
            + base64.b64encode(h.link).decode()
            for h in self.heads
        ]
        return "".join(line + "\n" for line in lines)


def make(
    origin: str,
    audit_leaves: Sequence[bytes],
    heads: Sequence[Head],
    at: datetime,
) -> Checkpoint:
    """The checkpoint of a store whose audit trail has ``audit_leaves`` and chain ``heads``."""
    return make_at(origin, len(audit_leaves), merkle.root(audit_leaves), heads, at)


def make_at(
    origin: str, audit_size: int, audit_root: bytes, heads: Sequence[Head], at: datetime
) -> Checkpoint:
    """The checkpoint of a store whose audit tree of ``audit_size`` entries has head
    ``audit_root`` (kept by the store: no leaf re-read) and chain ``heads``."""
    return Checkpoint(
        origin=origin if origin.startswith(ORIGIN_PREFIX) else ORIGIN_PREFIX + origin,
        audit_size=audit_size,
        audit_root=audit_root,
        at=at,
        heads=tuple(sorted(heads, key=lambda h: (h.service, h.source))),
    )


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + raw).digest()[:4]


def sign(checkpoint: Checkpoint, name: str, key: Ed25519PrivateKey) -> str:
    """The signed note: the body, a blank line, one signature line."""
    body = checkpoint.body()
    sig = key_id(name, key.public_key()) + key.sign(body.encode())
    return f"{body}\n{_SIG_PREFIX}{name} {base64.b64encode(sig).decode()}\n"


class UnknownSigner(InputError):
    """A well-formed note signed by none of the keys given (a verifier may skip it)."""


@dataclass(frozen=True)
class Signed:
    checkpoint: Checkpoint
    signer: str  # the key name on the signature line that verified


#: A public key as a verifier holds it: bound to the one agent (source) it signs for.
NamedKey = tuple[str, Ed25519PublicKey]


def open_note(text: str, where: str, keys: Sequence[NamedKey]) -> Signed:
    """Parse a signed checkpoint and check its signature against the public ``keys``.

    Each key is bound to a name, the agent whose heads it signs: a signature line
    counts only with a key given for the name it gives, and the note must speak
    for that agent alone (its origin ``slawatch/NAME``, every chain of source
    NAME). So a key vouches for its own agent's history, never another's.
    Raises ``InputError`` naming ``where`` for a note that is malformed or whose
    signature does not hold, ``UnknownSigner`` for one signed by none of the
    keys (or by one agent's key in another agent's name).
    """
    body, sep, sigs = text.partition("\n\n")
    if not sep or not body:
        raise InputError(where, "not a signed checkpoint (no blank line before a signature)")
    body += "\n"
    checkpoint = _parse_body(body, where)
    names = []
    borrowed: list[str] = []
    for line in sigs.splitlines():
        if not line.startswith(_SIG_PREFIX):
            raise InputError(where, f"not a signature line: {line[:60]!r}")
        name, _, b64 = line[len(_SIG_PREFIX) :].rpartition(" ")
        names.append(name)
        try:
            sig = base64.b64decode(b64, validate=True)
        except binascii.Error:
            raise InputError(where, f"the signature of {name!r} is not base64") from None
        for owner, public in keys:
            if len(sig) != 68 or sig[:4] != key_id(name, public):
                continue
            if owner != name:  # another agent's key, signing in this one's name
                borrowed.append(f"signed as {name!r} with the key of {owner!r}")
                continue
            try:
                public.verify(sig[4:], body.encode())
            except InvalidSignature:
                raise InputError(where, f"the signature of {name!r} does not hold") from None
            _speaks_for(checkpoint, name, where)
            return Signed(checkpoint, name)
    if borrowed:
        raise UnknownSigner(where, f"{'; '.join(borrowed)}: a key signs only for its own agent")
    raise UnknownSigner(
        where, f"signed by {', '.join(map(repr, names)) or 'nobody'}, with none of the keys given"
    )


def read_note(text: str, where: str) -> Checkpoint:
    """A signed note's checkpoint, its signature left for ``open_note`` to check
    (InputError naming ``where`` when it is not a well-formed signed note)."""
    body, sep, sigs = text.partition("\n\n")
    if not sep or not body or not sigs.startswith(_SIG_PREFIX):
        raise InputError(where, "not a signed checkpoint (no signature after a blank line)")
    return _parse_body(body + "\n", where)


def _speaks_for(checkpoint: Checkpoint, signer: str, where: str) -> None:
    """A note signed by ``signer``'s key vouches for ``signer``'s chains only."""
    others = sorted(
        {h.source for h in checkpoint.heads if h.source != signer}
        | ({checkpoint.origin.removeprefix(ORIGIN_PREFIX)} - {signer})
    )
    if others:
        raise UnknownSigner(
            where,
            f"signed by {signer!r} but speaks for {', '.join(map(repr, others))}: "
            "a key signs only for its own agent",
        )


def _parse_body(body: str, where: str) -> Checkpoint:
    lines = body.splitlines()
    if len(lines) < 4 or not lines[0].startswith(ORIGIN_PREFIX):
        raise InputError(where, f"not a slawatch checkpoint (origin {ORIGIN_PREFIX}NAME expected)")
    try:
        size = int(lines[1]) if lines[1].isascii() and lines[1].isdigit() else -1
        root = base64.b64decode(lines[2], validate=True)
        if size < 0 or len(root) != 32 or not lines[3].startswith("time "):
            raise ValueError
        at = parse_instant(lines[3][5:], f"{where}: time")
        heads = []
        for n, line in enumerate(lines[4:], start=5):
            word, service, source, hour, link = line.split(" ")
            raw = base64.b64decode(link, validate=True)
            if word != "chain" or len(raw) != 32 or not hour.lstrip("-").isdigit():
                raise InputError(f"{where}: line {n}", "not 'chain SERVICE SOURCE HOUR LINK'")
            if not 0 <= int(hour) < _END_HOUR:  # (a signed note is read as bad input too)
                raise InputError(
                    f"{where}: line {n}",
                    f"hour {hour} is outside the times slawatch records "
                    f"({FIRST_INSTANT:%Y-%m-%d} to {END_INSTANT:%Y-%m-%d} UTC)",
                )
            heads.append(Head(unquote(service), unquote(source), int(hour), raw))
    except InputError:
        raise
    except (ValueError, binascii.Error):
        raise InputError(where, "malformed checkpoint body") from None
    return Checkpoint(lines[0], size, root, at, tuple(heads))


_END_HOUR = to_minute(END_INSTANT) // 60  # a head's hour: an epoch hour before it


@dataclass(frozen=True)
class Contradiction:
    where: str  # "audit trail" or "chain SERVICE/SOURCE"
    what: str

    def describe(self) -> str:
        return f"{self.where}: {self.what}"


def contradictions(
    held: Checkpoint,
    audit_leaves: Sequence[bytes],
    links: Mapping[tuple[str, str, int], bytes],
) -> list[Contradiction]:
    """Where today's store disagrees with a checkpoint made earlier.

    ``audit_leaves`` are today's audit entries' leaf hashes; ``links`` today's
    link at each (service, source, hour) the checkpoint names (absent: no seal).
    An append-only history agrees with every earlier checkpoint: its first
    ``audit_size`` leaves hash to the same root and each chain still holds the
    same link at the same hour.
    """
    out: list[Contradiction] = []
    if len(audit_leaves) < held.audit_size:
        out.append(
            Contradiction(
                "audit trail",
                f"has {len(audit_leaves)} entries, fewer than the {held.audit_size} "
                "the checkpoint holds (entries were removed)",
            )
        )
    elif merkle.root(audit_leaves[: held.audit_size]) != held.audit_root:
        out.append(
            Contradiction(
                "audit trail",
                f"its first {held.audit_size} entries no longer hash to the checkpoint's "
                "tree head (an entry was edited, removed or inserted)",
            )
        )
    for head in held.heads:
        now = links.get((head.service, head.source, head.hour))
        where = f"chain {head.name}"
        when = iso_z(from_minute(head.hour * 60))
        if now is None:
            out.append(Contradiction(where, f"the hour {when} it was sealed at is gone"))
        elif now != head.link:
            out.append(
                Contradiction(
                    where,
                    f"rewritten at or before the hour {when}: its link there is not the "
                    "one the checkpoint holds",
                )
            )
    return out
