"""``slawatch status [--json]``: the dashboard's picture, once, without a terminal UI.

Reads what is stored: the latest probe per service, the current month's
availability, open cases with their response deadlines, credits not yet
settled, and outages that can still be reported.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.percent import availability_text, coverage_text, credit_text, measured_text
from slawatch.commands._args import Subparsers, json_option
from slawatch.commands._support import (
    after,
    left,
    notes,
    nothing_listed,
    owed_text,
    show,
    table,
    when,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from reads.reports import CaseView, Overview, ServiceState
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    p = sub.add_parser("status", help="one-shot view of what the dashboard shows")
    json_option(p)
    p.set_defaults(handler=_status)


def _status(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import overview

    return show(args, ctx, overview, render)


def render(view: Overview) -> str:
    from core.money import format_money
    from core.tls import warning_line
    from slawatch.commands.case import render_cases

    out: list[str] = []
    fleet = any(s.vantage.summary is not None for s in view.services)
    # What a reader must see together first (state, the month's figure, what to know
    # about it); when that is wide (a service not recording), the probe's columns fold
    # below, each block led by SERVICE.
    rows = [
        [
            s.name,
            s.state.upper() + (" (stale)" if s.stale else ""),
            *([s.vantage.summary or "-"] if fleet else []),
            _availability(s, view.now),
            notes(
                coverage_low=s.coverage_low,
                provisional=s.provisional,
                not_recording=s.not_recording is not None,
            ),
            when(s.last_probe_at),
            "-" if s.latency_ms is None else f"{s.latency_ms} ms",
            str(s.month),
        ]
        for s in view.services
    ]
    headers = ["SERVICE", "STATE", "AVAILABILITY", "NOTE", "LAST PROBE", "LATENCY", "MONTH"]
    if fleet:  # several vantage points: how many see what ("2/3 down")
        headers.insert(2, "AGENTS")
    first = 3 if fleet else 2  # AVAILABILITY
    months = {s.month for s in view.services}
    if len(months) == 1:  # the usual: one month for all, said once in the header
        headers[first] = f"AVAILABILITY {months.pop()}"
        headers.pop()
        rows = [r[:-1] for r in rows]
    # NOTE wraps (one phrase a line) before the table folds.
    note_min = len("NOT RECORDING,")
    out.append(table(headers, rows, (first, first + 3), wrap=first + 1, wrap_min=note_min))
    for s in view.services:
        if s.not_recording:
            out.append(_indented(f"{s.name}: {s.not_recording}"))
        for v in s.vantage.dissent():
            out.append(_indented(f"{s.name}: agent {v.agent} sees {v.state}, outvoted ({s.state})"))
    out.append("")
    if view.open_cases:
        out.append(f"Open cases ({len(view.open_cases)})")
        out.append(render_cases(_by_urgency(view.open_cases), resolved=False))
    else:
        out.append(nothing_listed("open cases"))
    out.append("")
    if view.pending_credits:
        out.append(f"Pending credits ({len(view.pending_credits)})")
        out.append(
            table(
                ["SERVICE", "MONTH", "CREDIT", "AMOUNT", "CLAIMABLE AMOUNT"],
                [
                    [
                        p.service,
                        str(p.month) + ("" if p.month_complete else " (running)"),
                        credit_text(p.credit_percent),
                        f"{format_money(p.credit_amount)} {p.currency}",
                        f"{format_money(p.claimable_credit_amount)} {p.currency}",
                    ]
                    for p in view.pending_credits
                ],
                (2, 3, 4),
                keys=2,
            )
        )
    else:
        out.append(nothing_listed("pending credits"))
    if view.reportable_outages:
        out.append("")
        out.append(
            f"Unreported outages that can still be reported ({len(view.reportable_outages)})"
        )
        out.append(
            table(
                ["SERVICE", "START", "END", "MINUTES", "REPORT BY"],
                [
                    [
                        o.service,
                        when(o.start),
                        "ongoing" if o.ongoing else after(o.end, o.start),
                        o.minutes,
                        f"{after(o.report_by, o.start)} ({left(o.report_by, view.now)})",
                    ]
                    for o in view.reportable_outages
                ],
                (3,),
                keys=2,
            )
        )
    warnings = [
        f"{s.name}: {warning_line(s.tls_expires_at, view.now)}"
        for s in view.services
        if s.tls_warning and s.tls_expires_at is not None
    ]
    if warnings:
        out += ["", "Certificates", *map(_remark, warnings)]
    out += [_remark(line) for line in _agents(view)]
    return "\n".join(out)


def _by_urgency(cases: Sequence[CaseView]) -> list[CaseView]:
    """The open cases in the dashboard's order: breached first, then by due time."""
    from core.cases import urgency

    def key(v: CaseView) -> tuple[int, float, int]:
        c = v.case
        return urgency(c.id, c.opened_at, v.response_due, c.responded_at is not None,
                       v.response_breached)  # fmt: skip

    return sorted(cases, key=key)


def _remark(line: str) -> str:
    """A line of its own after the tables, wrapped to their width (the rest indented)."""
    from slawatch.tables import wrap

    return "\n".join(wrap(line, then="  ")) if line else line


def _indented(line: str) -> str:
    """A remark under the table, wrapped to its width."""
    from slawatch.tables import wrap

    return "\n".join(wrap(line, indent="  ", then="    "))


def _availability(s: ServiceState, now: datetime) -> str:
    """The month's figure; when minutes stopped arriving, ``? 99.9500 % to 14:05Z (100.0 %
    measured)``: what was not recorded is unknown, so the figure is only that of the
    minutes up to then (``12-06 14:05Z`` when that was another day)."""
    figure = measured_text(s.month_availability_percent, s.coverage_percent)
    if s.not_recording is None or s.recorded_until is None:
        return figure
    until = s.recorded_until.astimezone(UTC)
    at = f"{until:%H:%M}Z" if until.date() == now.astimezone(UTC).date() else after(until, now)
    percent = availability_text(s.month_availability_percent)
    return f"? {percent} to {at} ({coverage_text(s.coverage_percent)} measured)"


def _agents(view: Overview) -> list[str]:
    """One line per agent with something to say about its storage (issue 7)."""
    from core.fleet import AGENT_SILENT

    lines: list[str] = []
    for h in view.agents:
        if h.problem is not None and h.problem_cleared is None:
            lines.append(
                f"agent {h.source}: CANNOT WRITE since {when(h.problem_since)}: {h.problem}"
                f" ({h.pending} minutes held in memory)"
            )
        elif h.problem is not None:
            lines.append(
                f"agent {h.source}: storage problem {when(h.problem_since)} to"
                f" {when(h.problem_cleared)}: {h.problem}; the buffered minutes were written"
            )
        if h.dropped:
            lines.append(
                f"agent {h.source}: {h.dropped} minutes dropped (buffer full): they read as unknown"
            )
        if h.notices_waiting:
            lines.append(owed_text(h.source, h.notices_waiting, h.notices_since))
        if view.now - h.at > AGENT_SILENT:
            lines.append(f"agent {h.source}: silent since {when(h.at)} (stopped, or cannot write)")
    return ["", "Agents", *lines] if lines else []
