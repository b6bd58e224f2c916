"""An in-process agent on a hand-turned clock, for the storage and clock faults.

The real ``Agent`` with the real ``StoreSink`` and store, probing a real
loopback target; only time is injected: ``minutes(n)`` probes every service
once, moves the clock on a minute and runs the agent's tick (judge + flush),
n times, so an hour of the agent's life takes a fraction of a second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from agent.runner import Agent
from agent.sink import StoreSink
from core.config import Config
from core.configfile import load_config
from core.timeutil import to_minute
from tests import configs

T0 = datetime(2026, 10, 3, 12, 0, 30, tzinfo=UTC)


class Clock:
    """The agent's wall clock, moved by the test (it may jump either way)."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def config_for(
    folder: Path, db: Path, url: str, services: int = 2, extra: str = "", tz: str = "UTC"
) -> Config:
    """Services ``svc0``... probing ``url`` with test-sized timings; ``extra`` is more TOML."""
    text = configs.agent_toml(configs.numbered(services, url), storage=db, timezone=tz)
    path = folder / "config.toml"
    path.write_text(text + extra)
    return configs.with_probes(load_config(path), **configs.QUICK)


class Rig:
    open: ClassVar[list[Rig]] = []  # closed by ``abort_all`` even when a test fails

    def __init__(self, config: Config, clock: Clock, sink: StoreSink | None = None) -> None:
        self.clock = clock
        self.sink = sink if sink is not None else StoreSink(config.storage_path)
        self.agent = Agent(config, clock=clock, sink=self.sink)
        self.probed: list[tuple[str, int]] = []  # (service, minute) of every probe filed
        Rig.open.append(self)

    @classmethod
    async def abort_all(cls) -> None:
        """Close every rig's connections (an open aiosqlite thread keeps Python alive)."""
        while cls.open:
            rig = cls.open.pop()
            await rig.agent.prober.aclose()
            await rig.sink.close()

    async def minutes(self, n: int, step: timedelta = timedelta(minutes=1)) -> None:
        for _ in range(n):
            for name in sorted(self.agent.targets):
                self.probed.append((name, to_minute(self.clock())))
                await self.agent.probe_service(name)
            self.clock.advance(step)
            await self.agent.tick()

    async def close(self) -> bool:
        """Stop the agent as SIGTERM would: True when nothing was left unwritten."""
        ok = await self.agent.stop(within=3)
        await self.sink.close()
        return ok
