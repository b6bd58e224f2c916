"""The agent's checkpoints: its heads, signed and sent out as they are made.

With ``[agent.checkpoint]`` the agent, every ``interval`` (at most an hour),
reads the store it records into, signs the audit trail's tree head and the
latest link of each of its own chains (``core.checkpoint``) with its key, and
POSTs the note to the webhook an auditor (or the provider) keeps. Whoever holds
those notes can later show that a history was rewritten: ``slawatch checkpoint
verify``. A send that fails is logged in one line and tried again at the next
interval; probing never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.probe import user_agent
from core import checkpoint, keys
from core.config import Checkpointing, Config
from core.errors import ConfigError
from core.timeutil import from_minute, to_minute
from store import open_store

log = logging.getLogger("slawatch.agent")
Clock = Callable[[], datetime]


def load_key(path: Path, where: str) -> Ed25519PrivateKey:
    """The agent's Ed25519 private key (PEM, as ``slawatch key init`` writes it)."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(where, f"cannot read the key {path}: {exc.strerror}") from None
    return keys.private_from_pem(pem, f"{where}: {path}")


SETTLE_MINUTES = 2
"""A minute is written once it is over, plus the writer's flush (and in fleet mode the
forwarder's round): an hour is complete, and signed, this many minutes after its end."""


def complete_before(now: datetime, unsettled_from: int | None = None) -> int:
    """The first UTC epoch hour a checkpoint made at ``now`` must not sign: the hour still
    being written (its seal changes with every minute, so a note holding it would be
    contradicted by the honest store a minute later), and any hour from
    ``unsettled_from`` on (the oldest minute the agent holds that is not yet in the
    store: a backlog, written into its hour later)."""
    cutoff = to_minute(now) - SETTLE_MINUTES
    if unsettled_from is not None:
        cutoff = min(cutoff, unsettled_from)
    return cutoff // 60


def next_complete(now: datetime) -> str:
    """When the next hour becomes complete for a note made after ``now`` (ISO, UTC)."""
    hour = (to_minute(now) - SETTLE_MINUTES) // 60 + 1
    return from_minute(hour * 60 + SETTLE_MINUTES).strftime("%Y-%m-%dT%H:%MZ")


async def make_note(
    config: Config,
    source: str,
    key: Ed25519PrivateKey,
    clock: Clock,
    unsettled_from: int | None = None,
) -> str:
    """The signed checkpoint of ``source``'s chains (each up to its last complete hour,
    ``complete_before``) and the audit trail, as of now."""
    now = clock()
    before = complete_before(now, unsettled_from)
    async with await open_store(config, readonly=True) as store:
        size, head = await store.audit_head()  # O(log n): the store's kept frontier
        found = await store.chain_heads(source, before_hour=before)
    made = checkpoint.make_at(source, size, head, [checkpoint.Head(*h) for h in found], now)
    return checkpoint.sign(made, source, key)


def key_path(settings: Checkpointing, source: str) -> Path:
    """The private key of agent ``source``: ``[agent.checkpoint] key``, where a folder
    holds each agent's ``NAME.key`` (so one config file serves a whole fleet, each
    server's agent finding its own); without ``key``, where ``slawatch key init``
    puts it."""
    if settings.key is None:
        return keys.default_key_path(source, os.environ, Path.home()).expanduser().absolute()
    if settings.key.is_dir():
        return settings.key / f"{source}.key"
    return settings.key


class Checkpointer:
    """Makes and sends a checkpoint every ``settings.interval`` until stopped."""

    def __init__(
        self,
        config: Config,
        settings: Checkpointing,
        source: str,
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
        unsettled: Callable[[], Awaitable[int | None]] | None = None,
    ) -> None:
        self.config = config
        self._unsettled = unsettled  # the oldest minute the agent holds, not yet stored
        self.settings = settings
        self.source = source
        self.key = load_key(key_path(settings, source), f"{config.path}: agent.checkpoint.key")
        self._clock = clock
        self._transport = transport
        self.sent = 0

    async def send_once(self) -> bool:
        """Make one checkpoint and POST it; True when the webhook took it (2xx)."""
        try:
            oldest = None if self._unsettled is None else await self._unsettled()
            note = await make_note(self.config, self.source, self.key, self._clock, oldest)
        except Exception as exc:
            log.warning("checkpoint: cannot read the store: %s", exc)
            return False
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            "User-Agent": user_agent(self.source),
        }
        try:
            async with httpx.AsyncClient(
                transport=self._transport, timeout=self.settings.timeout.total_seconds()
            ) as client:
                answer = await client.post(self.settings.webhook, content=note, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("checkpoint: not sent to %s: %s", self.settings.webhook, exc)
            return False
        if not answer.is_success:
            log.warning(
                "checkpoint: %s answered %d; sent again at the next interval",
                self.settings.webhook,
                answer.status_code,
            )
            return False
        self.sent += 1
        log.info("checkpoint: sent to %s", self.settings.webhook)
        return True

    async def run(self, stopping: asyncio.Event) -> None:
        """One checkpoint now, then one every interval, until ``stopping`` is set."""
        interval = self.settings.interval.total_seconds()
        while not stopping.is_set():
            await self.send_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)
