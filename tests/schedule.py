"""The order in which ``--dist loadfile`` hands test files to the xdist workers.

xdist queues files by their number of tests, most first, so a file of one slow
test (the demo in tmux, three agents voting into PostgreSQL) was handed out
last, while the other worker sat idle until that file was done. Here the
longest files go first (longest-processing-time-first): the short ones fill
the gaps at the end and the workers finish close together.

How long a file takes comes from ``tests/durations.json`` (seconds per file, as
measured by a run with ``--record-durations``); a file not in it is estimated
from its number of tests at the recorded average per test. The figures only
order the queue: a stale or missing one costs time, never a test. Without the
file (or with an xdist whose load-file scheduler no longer has the queue this
reorders) xdist's own order stands.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from pathlib import Path

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadFileScheduling
from xdist.workermanage import WorkerController

DURATIONS = Path(__file__).with_name("durations.json")


def recorded() -> dict[str, float]:
    """Seconds per test file (node id of the file), as last recorded."""
    try:
        loaded = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def longest_first(files: dict[str, int], seconds: dict[str, float]) -> list[str]:
    """``files`` (file -> number of tests) ordered by expected time, longest first;
    ties (and unknown files of equal size) keep xdist's order: most tests first."""
    known = [seconds[f] / n for f, n in files.items() if f in seconds and n]
    per_test = sum(known) / len(known) if known else 1.0
    order = sorted(files, key=lambda f: -files[f])
    return sorted(order, key=lambda f: -seconds.get(f, files[f] * per_test))


class LongestFirst(LoadFileScheduling):
    """``--dist loadfile`` (a file's tests on one worker) with the longest files first.

    It reorders xdist's queue (``workqueue``: file -> its tests, handed out from
    the front by ``_assign_work_unit``) once, just before the first file is
    handed out; everything else (the handing out, a crashed worker's files) is
    xdist's own."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self._ordered = False

    def _assign_work_unit(self, node: WorkerController) -> None:
        if not self._ordered:  # the queue is built, nothing handed out yet
            self._ordered = True
            units = dict(self.workqueue)
            order = longest_first({f: len(t) for f, t in units.items()}, recorded())
            self.workqueue.clear()
            self.workqueue.update((f, units[f]) for f in order)
        super()._assign_work_unit(node)


def scheduler(config: pytest.Config, log: Producer) -> LongestFirst | None:
    """The scheduler for ``--dist loadfile``; None (xdist's own) for any other mode,
    or when the installed xdist's load-file scheduler lacks what this relies on."""
    if config.getvalue("dist") != "loadfile":
        return None
    try:
        made = LongestFirst(config, log)
    except (AttributeError, TypeError):
        return None
    if not isinstance(getattr(made, "workqueue", None), OrderedDict) or not callable(
        getattr(LoadFileScheduling, "_assign_work_unit", None)
    ):
        return None
    return made


class Recorder:
    """With ``--record-durations``: sums each file's setup, call and teardown times
    over the run and writes them to tests/durations.json at the end."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid.split("::", 1)[0]] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if session.testsfailed or not self.seconds:
            return  # a failed run's times are not the suite's
        merged = {**recorded(), **{f: round(s, 1) for f, s in self.seconds.items()}}
        merged = {f: s for f, s in merged.items() if (session.config.rootpath / f).exists()}
        DURATIONS.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
