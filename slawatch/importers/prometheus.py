"""``probe_success`` from Prometheus (the blackbox exporter) into minute records.

Input: ``query_range`` answers, fetched from a live server's HTTP API
(``GET /api/v1/query_range`` with a 60 s step) or read from a saved answer
(the JSON the API returns, e.g. ``curl .../api/v1/query_range?... > f.json``).

Which minute a sample is: ``query_range`` evaluates the query at ``start``,
``start + step``, ...; the value at an evaluation time ``t`` is the newest
sample at or before ``t``, which (with a scrape interval under a minute) was
scraped during the minute before ``t``. So the value at ``t`` is the verdict
of minute ``t // 60 - 1``, and minutes ``[lo, hi)`` are asked for as
evaluations ``(lo + 1) * 60`` to ``hi * 60``.

Values: ``1`` up, ``0`` down, no value (the series is absent at that time)
unknown: no record. Anything else (a query that averages, ``0.5``) is refused:
the minute rule decides between sources, not the query. ``probe_duration_seconds``
(``--latency-query``) gives the latency of up minutes.

The minute of a point is only right at a step of 60 s: an answer saved with
another step (Grafana's panels ask 15 s for an hour, 5 min or more for a month)
would have a point for every fifth minute, the others unknown, or several
evaluations folded into one minute. Such an answer is refused, the step named.

Prometheus refuses more than 11,000 points per series in one answer; a span is
asked for in chunks of ``CHUNK_POINTS`` evaluations.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from core.errors import InputError
from core.status import DOWN, UP
from store.rows import MinuteRow

STEP = 60
CHUNK_POINTS = 10_000
"""Evaluations per request: under Prometheus's limit of 11,000 points per series."""


@dataclass
class PromStats:
    series: int = 0
    samples: int = 0
    skipped: set[str] = field(default_factory=set)  # label values that map to no service


Samples = dict[str, dict[int, float]]  # label value -> minute -> value


def chunks(lo: int, hi: int, points: int = CHUNK_POINTS) -> Iterator[tuple[int, int]]:
    """Evaluation times (start, end), both inclusive, in seconds, covering minutes [lo, hi)."""
    minute = lo
    while minute < hi:
        last = min(hi, minute + points) - 1
        yield (minute + 1) * STEP, (last + 1) * STEP
        minute = last + 1


def parse_answer(text: str | bytes, where: str, label: str) -> Samples:
    """A ``query_range`` answer -> per label value, minute -> value. InputError if it is
    not a successful matrix answer whose series all carry ``label``."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(where, f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(where, "not a Prometheus API answer (expected a JSON object)")
    if doc.get("status") != "success":
        why = doc.get("error") or doc.get("status") or "no status"
        kind = doc.get("errorType")
        raise InputError(where, f"Prometheus says {kind + ': ' if kind else ''}{why}")
    data = doc.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        got = data.get("resultType") if isinstance(data, dict) else None
        raise InputError(where, f"expected a query_range answer (resultType 'matrix'), got {got!r}")
    result = data.get("result")
    if not isinstance(result, list):
        raise InputError(where, "data.result is not a list")
    out: Samples = {}
    spacing = 0  # gcd of the gaps between points, in ms: the answer's step
    for i, series in enumerate(result):
        if not isinstance(series, dict) or not isinstance(series.get("metric"), dict):
            raise InputError(where, f"series {i} has no metric labels")
        value = series["metric"].get(label)
        if not isinstance(value, str):
            shown = json.dumps(series["metric"], sort_keys=True)[:200]
            raise InputError(where, f"series {shown} has no label {label!r} (--service-label)")
        points = series.get("values")
        if not isinstance(points, list):
            raise InputError(where, f"series {label}={value!r} has no values list")
        if value in out:
            raise InputError(
                where,
                f"two series have {label}={value!r}; narrow the query to one per service",
            )
        out[value] = _points(points, where, f"{label}={value!r}")
        times = [round(p[0] * 1000) for p in points]
        for a, b in pairwise(times):
            spacing = math.gcd(spacing, b - a)
    if spacing and spacing != STEP * 1000:
        raise InputError(
            where,
            f"its points are {spacing / 1000:g} s apart, not {STEP} s (an answer asked with"
            f" step={spacing / 1000:g}s): each point would be read as one minute's verdict;"
            f" save the query_range answer with step={STEP}",
        )
    return out


def _points(points: list[Any], where: str, name: str) -> dict[int, float]:
    values: dict[int, float] = {}
    for point in points:
        if not (isinstance(point, list) and len(point) == 2):
            raise InputError(where, f"series {name}: {point!r} is not a [time, value] pair")
        at, raw = point
        if isinstance(at, bool) or not isinstance(at, int | float) or not isinstance(raw, str):
            raise InputError(where, f'series {name}: {point!r} is not a [time, "value"] pair')
        try:
            value = float(raw)
        except ValueError:
            raise InputError(where, f"series {name}: value {raw!r} is not a number") from None
        if math.isnan(value):
            continue  # no value at that time: unknown
        values[int(at) // STEP - 1] = value
    return values


def merge(into: Samples, more: Samples) -> None:
    for key, values in more.items():
        into.setdefault(key, {}).update(values)


def minute_rows(
    success: Samples,
    latency: Samples | None,
    *,
    mapping: Mapping[str, str],
    services: Iterable[str],
    source: str,
    span: tuple[int, int] | None,
    where: str,
    stats: PromStats,
) -> list[MinuteRow]:
    """Records of the minutes in ``span`` (all when None) of every series whose label value
    maps to a service (``mapping``, else the value itself when it names a service)."""
    known = set(services)
    rows: list[MinuteRow] = []
    feeding: dict[str, str] = {}
    for value, samples in sorted(success.items()):
        service = mapping.get(value, value if value in known else None)
        if service is None:
            stats.skipped.add(value)
            continue
        if service in feeding:
            raise InputError(
                where,
                f"series {feeding[service]!r} and {value!r} both give service {service!r}",
            )
        feeding[service] = value
        stats.series += 1
        lat = (latency or {}).get(value, {})
        for minute, v in sorted(samples.items()):
            if span is not None and not span[0] <= minute < span[1]:
                continue
            if v == 1:
                seconds = lat.get(minute)
                ms = round(seconds * 1000) if seconds is not None and seconds >= 0 else None
                rows.append(MinuteRow(service, source, minute, UP, ms))
            elif v == 0:
                rows.append(MinuteRow(service, source, minute, DOWN, None, "probe_failed"))
            else:
                raise InputError(
                    where,
                    f"series {value!r}: value {v:g} is not 0 or 1 (probe_success); query the"
                    " raw probe_success, not an aggregate",
                )
            stats.samples += 1
    return rows


def parse_map(pairs: Sequence[str], services: Iterable[str]) -> dict[str, str]:
    known = set(services)
    out: dict[str, str] = {}
    for pair in pairs:
        value, eq, service = pair.rpartition("=")
        if not eq or not value or not service.strip():
            raise InputError("--map", f"{pair!r} is not VALUE=SERVICE")
        if service.strip() not in known:
            raise InputError("--map", f"{pair!r}: no service {service.strip()!r} in the config")
        out[value] = service.strip()
    return out
