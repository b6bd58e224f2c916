"""The fault suite (issue 7): every test under tests/faults carries the ``faults`` marker.

``uv run pytest`` (and so ``.ci/run``) runs it with the rest; ``-m faults`` runs it
alone, ``-m "not faults"`` leaves it out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rig import Rig

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(autouse=True)
async def _close_rigs() -> AsyncIterator[None]:
    yield
    await Rig.abort_all()
