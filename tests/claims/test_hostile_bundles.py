"""Any edit to a bundle ends in a verdict, never a crash: exit 1 (it does not hold) or 2."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import bundle
from core.claim import verify
from core.errors import InputError
from tests.claims.conftest import World

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.just("9999-12-31T23:59:00Z"),
    st.builds(list),
    st.builds(dict),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (long lists sampled at both ends)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        picks = range(len(value)) if len(value) <= 4 else (0, 1, len(value) - 1)
        for i in picks:
            out += _paths(value[i], (*prefix, i))
    return out


class _Doc:
    """The bundle document, with a short repr: hypothesis may print its test's
    arguments, and a 200 kB repr is both useless and (under -W error) a failure."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.text = json.dumps(data)

    def __repr__(self) -> str:
        return f"<bundle document, {len(self.text)} bytes>"


@pytest.fixture(scope="module")
def original(world: World) -> _Doc:
    return _Doc(world.document())


@settings(
    max_examples=60,
    deadline=None,
    database=None,  # the bundle differs from run to run: replaying old draws means nothing
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pick=st.integers(min_value=0, max_value=10**6), delete=st.booleans(), value=_VALUES)
def test_any_single_edit_is_rejected_or_judged(
    original: _Doc, pick: int, delete: bool, value: Any
) -> None:
    # Everything is drawn up front (no st.data()): the same draws on every replay.
    doc = json.loads(original.text)
    paths = [p for p in _paths(doc) if p]
    path = paths[pick % len(paths)]
    target = doc
    for key in path[:-1]:
        target = target[key]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    raw = json.dumps(doc).encode()
    try:
        claim, _ = bundle.parse(raw, "b.json")
    except InputError as exc:
        assert str(exc).startswith("b.json")
        return
    checks = verify(claim)
    assert checks and all(isinstance(c.ok, bool) for c in checks)


def _raw_lists(value: Any) -> list[list[Any]]:
    """Every ``raw`` list (minute, status, error class) in a bundle document."""
    found: list[list[Any]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "raw" and isinstance(v, list) and v:
                found.append(v)
            else:
                found += _raw_lists(v)
    elif isinstance(value, list):
        for v in value:
            found += _raw_lists(v)
    return found


@pytest.mark.parametrize("status", [[], {}, 3, None])
def test_a_raw_minute_whose_status_is_not_a_word_is_not_a_bundle(
    original: _Doc, status: Any
) -> None:
    """Found by the fuzzer: an unhashable status crashed the reader."""
    doc = json.loads(original.text)
    raws = _raw_lists(doc)
    assert raws, "the test world must have raw (down/degraded) minutes"
    raws[0][0][1] = status
    with pytest.raises(InputError, match="status must be"):
        bundle.parse(json.dumps(doc).encode(), "b.json")
