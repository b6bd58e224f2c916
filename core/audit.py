"""The audit trail's entries: every correction of the evidence, who made it, before and after.

An entry is appended, never changed: a replaced minute record, a window added
or removed, a case edited or reopened, a settlement undone. Its bytes (the
canonical JSON of ``canonical()``) are a leaf of an RFC 9162 Merkle tree
(``core.merkle``); the store keeps each entry's leaf hash and the tree head
after it, and ``store verify`` recomputes both, so an entry edited, inserted or
removed from the middle behind slawatch's back is named. ``span`` is the
minutes the change touches ([start, end) epoch minutes), which is how a claim
bundle finds the entries of its month.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import merkle
from core.timeutil import from_minute, iso_z

#: The kind that says the store found a minute block edited outside slawatch.
TAMPER = "store.tamper"
#: Minute writes: each hour's digest after a write (``minutes.seal``), and the
#: chains as they stood when the trail began logging them (``minutes.baseline``).
SEAL, BASELINE = "minutes.seal", "minutes.baseline"


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value: sorted keys, no spaces, ASCII only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True)
class AuditEntry:
    seq: int  # 1, 2, 3 ... with no gap
    at: datetime  # aware, whole seconds
    actor: str  # the OS user who ran the command
    kind: str  # e.g. "minutes.replace", "maintenance.add", "case.edit"
    service: str | None
    span: tuple[int, int] | None  # the minutes it touches, [start, end)
    before: Any  # JSON value (None: nothing before, e.g. an add)
    after: Any  # JSON value (None: nothing after, e.g. a removal)

    def canonical(self, spelled: tuple[str, str] | None = None) -> bytes:
        """The bytes the entry's leaf hash is taken over. ``spelled``: the canonical
        JSON of ``before`` and ``after``, when the caller has it (the store, which
        stores those texts), put in as it is: the same bytes, not spelled again."""
        fields = self.to_json()
        if spelled is None:
            return canonical_json(fields).encode("ascii")
        texts = {
            key: canonical_json(value)
            for key, value in fields.items()
            if key not in ("before", "after")
        }
        texts["before"], texts["after"] = spelled
        # canonical_json of a dict of plain ASCII keys: sorted, no spaces.
        inner = ",".join(f'"{key}":{texts[key]}' for key in sorted(texts))
        return ("{" + inner + "}").encode("ascii")

    def leaf(self, spelled: tuple[str, str] | None = None) -> bytes:
        return merkle.leaf_hash(self.canonical(spelled))

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": iso_z(self.at),
            "actor": self.actor,
            "kind": self.kind,
            "service": self.service,
            "from": None if self.span is None else iso_z(from_minute(self.span[0])),
            "to": None if self.span is None else iso_z(from_minute(self.span[1])),
            "before": self.before,
            "after": self.after,
        }

    def touches(self, service: str, start: int, end: int) -> bool:
        """Whether this entry is about ``service`` and minutes in [start, end)."""
        if self.service != service or self.span is None:
            return False
        return self.span[0] < end and self.span[1] > start


@dataclass(frozen=True)
class AuditProof:
    """The audit entries a claim bundle carries, each with its RFC 9162 inclusion
    proof in the store's trail as it stood at the export (``tree_size`` entries,
    tree head ``head``): a verifier re-hashes each entry and checks it is in that
    tree, so an entry edited in the bundle, or one that was never in the trail,
    is caught. Entries are JSON objects as ``AuditEntry.to_json`` wrote them."""

    tree_size: int
    head: bytes
    entries: tuple[tuple[dict[str, Any], tuple[bytes, ...]], ...]  # (entry, proof)

    def to_json(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "head": self.head.hex(),
            "entries": [
                {**entry, "proof": [p.hex() for p in proof]} for entry, proof in self.entries
            ],
        }


def audit_proof(entries: Sequence[AuditEntry], leaves: Sequence[bytes]) -> AuditProof:
    """``entries`` (a few of the trail) with their inclusion proofs in the tree of ``leaves``."""
    return AuditProof(
        tree_size=len(leaves),
        head=merkle.root(leaves),
        entries=tuple(
            (e.to_json(), tuple(merkle.inclusion_proof(e.seq - 1, leaves))) for e in entries
        ),
    )


def entry_included(entry: dict[str, Any], proof: Sequence[bytes], size: int, head: bytes) -> bool:
    """Is this entry (as JSON) at its ``seq`` in the tree of ``size`` leaves with ``head``?"""
    seq = entry.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return False
    leaf = merkle.leaf_hash(canonical_json(entry).encode("ascii"))
    return merkle.verify_inclusion(seq - 1, size, leaf, proof, head)
