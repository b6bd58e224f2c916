"""Past-tense messages: what the workers report back to the app."""

from __future__ import annotations

from datetime import datetime

from textual.message import Message

from tui.view import Snapshot


class SnapshotLoaded(Message):
    """A refresh finished; ``snapshot`` is None when the store had not changed."""

    def __init__(self, snapshot: Snapshot | None) -> None:
        super().__init__()
        self.snapshot = snapshot


class MonthsComputed(Message):
    """The month pass finished (in its thread): ``snapshot`` has every month figure,
    as of ``now``, read after the live snapshot at data ``version`` was."""

    def __init__(
        self, snapshot: Snapshot, now: datetime, version: int | None, source: object = None
    ) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.now = now
        self.version = version
        self.source = source  # the StoreSource that computed it (a reload replaces it)


class RefreshFailed(Message):
    """A read failed; ``months`` when it was the month pass."""

    def __init__(self, error: str, *, months: bool = False) -> None:
        super().__init__()
        self.error = error
        self.months = months


class ActionSucceeded(Message):
    def __init__(self, action: str, result: str) -> None:
        super().__init__()
        self.action = action
        self.result = result


class ActionFailed(Message):
    def __init__(self, action: str, error: str) -> None:
        super().__init__()
        self.action = action
        self.error = error
