"""The longest-first order of test files for ``--dist loadfile`` (tests/schedule.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import schedule


def test_recorded_seconds_order_the_files_longest_first() -> None:
    files = {"a.py": 30, "b.py": 1, "c.py": 5}
    seconds = {"a.py": 3.0, "b.py": 40.0, "c.py": 10.0}
    assert schedule.longest_first(files, seconds) == ["b.py", "c.py", "a.py"]


def test_an_unrecorded_file_is_estimated_from_its_tests_at_the_average_per_test() -> None:
    # recorded: 1 s per test on average (2 s over 2 tests, 0 s over 1 test -> 0.5; 1.0 mean)
    files = {"old.py": 2, "fast.py": 1, "new.py": 7}
    seconds = {"old.py": 2.0, "fast.py": 0.0}
    # new.py: 7 tests at (1.0 + 0.0) / 2 = 0.5 s -> 3.5 s, ahead of old.py's 2 s
    assert schedule.longest_first(files, seconds) == ["new.py", "old.py", "fast.py"]


def test_without_recorded_times_the_order_is_xdists_most_tests_first() -> None:
    files = {"one.py": 1, "three.py": 3, "two.py": 2, "three_too.py": 3}
    assert schedule.longest_first(files, {}) == ["three.py", "three_too.py", "two.py", "one.py"]


@pytest.mark.parametrize("text", [None, "not json", "[1, 2]"])
def test_a_missing_or_unreadable_durations_file_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None
) -> None:
    path = tmp_path / "durations.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(schedule, "DURATIONS", path)
    assert schedule.recorded() == {}
