"""Colours for table cells, taken from the active Textual theme.

Table cells are Rich ``Text``, which cannot read CSS variables, so the few
colours a cell needs are looked up once from the theme. Every state is shown
as a symbol and a word as well as a colour, so nothing depends on colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text

from core.status import StatusName


@dataclass(frozen=True)
class Palette:
    good: str = "green"
    warn: str = "yellow"
    bad: str = "red"
    muted: str = "grey50"
    accent: str = "cyan"
    calm: str = "steel_blue"  # sparklines and references: present but quiet

    @classmethod
    def from_theme(cls, variables: Mapping[str, str]) -> Palette:
        """Build from ``App.theme_variables`` (falls back to plain colours)."""
        d = cls()
        return cls(
            good=variables.get("success", d.good),
            warn=variables.get("warning", d.warn),
            bad=variables.get("error", d.bad),
            muted=variables.get("foreground-darken-3", d.muted),
            accent=variables.get("accent", d.accent),
            calm=variables.get("primary-lighten-2", d.calm),
        )


_SYMBOL: dict[str, str] = {
    "up": "●",
    "degraded": "▲",
    "down": "✖",
    "unknown": "?",
    "stale": "◌",
    "waiting": "…",
}


def _style(word: str, palette: Palette) -> str:
    return {
        "up": palette.good,
        "degraded": palette.warn,
        "down": f"bold {palette.bad}",
        "unknown": palette.muted,
        "stale": f"italic {palette.warn}",
        "waiting": f"italic {palette.muted}",
    }[word]


def state_text(state: StatusName, stale: bool, palette: Palette, *, waiting: bool = False) -> Text:
    """``● up`` in green, ``✖ down`` in bold red, ``◌ stale`` when the agent went quiet,
    ``… waiting`` before a service's first probe (nothing is known yet: not stale)."""
    word = "waiting" if waiting else "stale" if stale else state
    return Text(f"{_SYMBOL[word]} {word}", style=_style(word, palette))


def state_count(word: str, count: int, palette: Palette) -> Text:
    """``✖ 3 down``: how many services are in a state (``stale`` included;
    ``waiting`` reads ``waiting for first probe``)."""
    label = "waiting for first probe" if word == "waiting" else word
    return Text(f"{_SYMBOL[word]} {count:,} {label}", style=_style(word, palette))
