"""The case lifecycle of issue 11 through the real CLI, deadlines worked out by hand.

The enterprise contract (profile ``enterprise-unified``) on a Paris office calendar:
severities 1 and A answer within 1 h around the clock; B within 2 and C within 4
business hours, Mon-Fri 09:00-17:30 Paris (UTC+2 until 25 October 2026, UTC+1 after).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests import configs
from tests.cli.common import assert_user_error, ok_json

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

PARIS = {"timezone": "Europe/Paris", "calendar": "paris-office"}
CONFIG = configs.toml(
    storage="slawatch.db",
    calendars=[
        configs.calendar(
            "paris-office",
            timezone="Europe/Paris",
            business_day="8h30m",
            holidays=["2026-11-11"],
            weekdays="09:00-17:30",
        )
    ],
    contracts=[
        configs.contract("enterprise", profile="enterprise-unified", **PARIS),
        configs.contract(
            "enterprise-paused",
            profile="enterprise-unified",
            customer_wait_stops_clock=True,
            **PARIS,
        ),
    ],
    services=[configs.service("erp", "enterprise"), configs.service("crm", "enterprise-paused")],
)


def _cli(tmp_path: Path, run_cli: RunCli, write_config: WriteConfig) -> tuple[str, ...]:
    return ("--config", str(write_config(tmp_path, CONFIG)))


def _open(run_cli: RunCli, cfg: tuple[str, ...], service: str, priority: str, at: str) -> int:
    case = ok_json(run_cli, *cfg, "case", "open", "--service", service, "--priority", priority,
                   "--title", f"sev {priority}", "--opened-at", at, "--json")  # fmt: skip
    return int(case["id"])


def test_raised_before_the_first_response_runs_the_new_target_from_the_change(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = _cli(tmp_path, run_cli, write_config)
    # Friday 16:00 Paris (14:00Z), severity B: 1 h 30 left on Friday (to 17:30), the
    # other 30 min from Monday 09:00 Paris -> Monday 09:30 Paris = 07:30Z.
    b = _open(run_cli, cfg, "erp", "B", "2026-10-02T16:00:00+02:00")
    case = ok_json(run_cli, *cfg, "case", "show", str(b), "--json")
    assert case["response_due"] == "2026-10-05T07:30:00Z"
    # Found as an operator: 'due 10-05 07:30Z (priority B, clock from 10-02 14:00Z)' did
    # not say why a case opened on Friday was due on Monday; the target and its clock do.
    shown = " ".join(run_cli(*cfg, "case", "show", str(b)).stdout.split())
    assert "(priority B: 2h of business hours, counted from 2026-10-02 14:00Z)" in shown
    assert case["customer_obligation"].startswith("change-approval authority")
    # Saturday 10:00Z the customer has it raised to A: 1 h on the 24x7 clock from then.
    raised = ok_json(run_cli, *cfg, "case", "priority", str(b), "A", "--at",
                     "2026-10-03T10:00:00Z", "--reason", "production stopped",
                     "--json")  # fmt: skip
    assert raised["priority"] == "A"
    assert raised["response_due"] == "2026-10-03T11:00:00Z"
    assert raised["response_priority"] == "A"
    assert raised["priority_history"] == [
        {"priority": "B", "at": "2026-10-02T14:00:00Z", "reason": None},
        {"priority": "A", "at": "2026-10-03T10:00:00Z", "reason": "production stopped"},
    ]
    # Answered at 11:20Z: on time under B, late under A.
    late = ok_json(run_cli, *cfg, "case", "respond", str(b), "--at", "2026-10-03T11:20:00Z",
                   "--json")  # fmt: skip
    assert (late["response_due"], late["response_breached"]) == ("2026-10-03T11:00:00Z", True)
    listed = ok_json(run_cli, *cfg, "case", "list", "--json")
    assert listed[0]["priority_history"] == raised["priority_history"]
    text = run_cli(*cfg, "case", "list").stdout
    assert "was B" in text  # under the case's row, which says A
    detail = run_cli(*cfg, "case", "show", str(b)).stdout
    assert "production stopped" in detail
    assert "(priority A: 1h, 24x7, counted from 2026-10-03 10:00Z)" in " ".join(detail.split())
    assert "customer_wait_stops_clock = false" in detail
    assert "24x7 work" in detail  # severity A: the customer's own obligation


def test_downgrades_of_a_severity_1(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = _cli(tmp_path, run_cli, write_config)
    # Severity 1 opened Saturday 08:00Z: due 09:00Z. The provider answers at 08:40Z asking
    # for 24x7 staffing; the customer cannot, and at 12:00Z the case goes down to B.
    # After the first response only the follow-up changes: the deadline stays 09:00Z.
    one = _open(run_cli, cfg, "erp", "1", "2026-10-10T08:00:00Z")
    ok_json(run_cli, *cfg, "case", "respond", str(one), "--at", "2026-10-10T08:40:00Z", "--json")
    down = ok_json(run_cli, *cfg, "case", "priority", str(one), "B", "--at",
                   "2026-10-10T12:00:00Z", "--reason", "customer cannot staff 24x7",
                   "--json")  # fmt: skip
    assert (down["priority"], down["response_priority"]) == ("B", "1")
    assert (down["response_due"], down["response_breached"]) == ("2026-10-10T09:00:00Z", False)
    assert down["follow_up_clock"] == "business"
    # Downgraded at 08:30Z, before any answer: B's 2 business hours from then, i.e. from
    # Monday 09:00 Paris (07:00Z) -> 09:00Z on Monday 12 October.
    early = _open(run_cli, cfg, "erp", "1", "2026-10-10T08:00:00Z")
    moved = ok_json(run_cli, *cfg, "case", "priority", str(early), "B", "--at",
                    "2026-10-10T08:30:00Z", "--json")  # fmt: skip
    assert moved["response_due"] == "2026-10-12T09:00:00Z"
    # Downgraded at 10:00Z, after 09:00Z passed unanswered: the missed deadline stands.
    missed = _open(run_cli, cfg, "erp", "1", "2026-10-10T08:00:00Z")
    kept = ok_json(run_cli, *cfg, "case", "priority", str(missed), "B", "--at",
                   "2026-10-10T10:00:00Z", "--json")  # fmt: skip
    assert (kept["response_due"], kept["response_breached"]) == ("2026-10-10T09:00:00Z", True)


def test_a_resolution_answers_and_rca_escalation_wait(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = _cli(tmp_path, run_cli, write_config)
    # Severity A opened 10:00Z, due 11:00Z, resolved at 10:40Z with no response recorded:
    # the resolution is the answer, so no breach.
    a = _open(run_cli, cfg, "erp", "A", "2026-10-13T10:00:00Z")
    done = run_cli(*cfg, "case", "resolve", str(a), "--at", "2026-10-13T10:40:00Z", "--json")
    assert done.returncode == 0 and done.stderr == ""  # A is not the most severe: no warning
    resolved = json.loads(done.stdout)
    assert (resolved["status"], resolved["responded_at"]) == ("resolved", None)
    assert resolved["first_response_at"] == "2026-10-13T10:40:00Z"
    assert resolved["response_breached"] is False
    slow = _open(run_cli, cfg, "erp", "A", "2026-10-13T10:00:00Z")
    late = ok_json(run_cli, *cfg, "case", "resolve", str(slow), "--at", "2026-10-13T11:30:00Z",
                   "--json")  # fmt: skip
    assert late["response_breached"] is True

    # Severity 1 resolved without an RCA request: one warning line, still resolved.
    one = _open(run_cli, cfg, "erp", "1", "2026-10-14T10:00:00Z")
    warned = run_cli(*cfg, "case", "resolve", str(one), "--at", "2026-10-14T12:00:00Z")
    assert warned.returncode == 0
    assert warned.stderr.count("\n") == 1 and "root-cause analysis" in warned.stderr
    quiet = _open(run_cli, cfg, "erp", "1", "2026-10-14T10:00:00Z")
    silenced = run_cli(*cfg, "case", "resolve", str(quiet), "--at", "2026-10-14T12:00:00Z",
                       "--no-rca")  # fmt: skip
    assert (silenced.returncode, silenced.stderr) == (0, "")
    asked = _open(run_cli, cfg, "erp", "1", "2026-10-14T10:00:00Z")
    rca = ok_json(run_cli, *cfg, "case", "rca", str(asked), "--at", "2026-10-14T10:30:00Z",
                  "--json")  # fmt: skip
    assert rca["rca_requested_at"] == "2026-10-14T10:30:00Z"
    ok_json(run_cli, *cfg, "case", "escalate", str(asked), "2", "--at", "2026-10-14T10:45:00Z",
            "--json")  # fmt: skip
    esc = ok_json(run_cli, *cfg, "case", "escalate", str(asked), "3", "--at",
                  "2026-10-14T11:00:00Z", "--json")  # fmt: skip
    assert esc["escalation_level"] == 3
    assert [e["level"] for e in esc["escalation_history"]] == [1, 2, 3]
    ok = run_cli(*cfg, "case", "resolve", str(asked), "--at", "2026-10-14T12:00:00Z")
    assert (ok.returncode, ok.stderr) == (0, "")
    _header, *lines = run_cli(*cfg, "case", "list").stdout.splitlines()
    at = next(n for n, line in enumerate(lines) if line.split()[0] == str(asked))
    assert "level 3" in lines[at + 1]  # the line under the case's row

    # Waiting on the customer stops the clock only where the contract says so.
    # B opened Monday 09:00 Paris (07:00Z): due 11:00 Paris = 09:00Z; a wait
    # 07:30Z-08:00Z moves it by 30 working minutes on crm's contract only.
    for service, due in (("erp", "2026-10-05T09:00:00Z"), ("crm", "2026-10-05T09:30:00Z")):
        case = _open(run_cli, cfg, service, "B", "2026-10-05T07:00:00Z")
        waited = ok_json(run_cli, *cfg, "case", "wait", str(case), "--from",
                         "2026-10-05T07:30:00Z", "--to", "2026-10-05T08:00:00Z", "--reason",
                         "provider asked for logs", "--json")  # fmt: skip
        assert waited["response_due"] == due
        assert waited["customer_wait_stops_clock"] is (service == "crm")
        assert waited["waits"] == [
            {"from": "2026-10-05T07:30:00Z", "to": "2026-10-05T08:00:00Z",
             "reason": "provider asked for logs"}
        ]  # fmt: skip


def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = _cli(tmp_path, run_cli, write_config)
    case = _open(run_cli, cfg, "erp", "B", "2026-10-05T07:00:00Z")
    done = _open(run_cli, cfg, "erp", "C", "2026-10-05T07:00:00Z")
    ok_json(run_cli, *cfg, "case", "resolve", str(done), "--at", "2026-10-05T08:00:00Z", "--json")
    before = ok_json(run_cli, *cfg, "case", "list", "--json")
    c, d = str(case), str(done)
    bad = [
        (["case", "priority", "99", "A"], "no case with id 99"),
        (["case", "priority", c, "A", "--at", "2026-10-05T08:00:00"], "no UTC offset"),
        (["case", "priority", c, "Z"], "priority: unknown priority 'Z'"),
        (["case", "priority", c, "B"], "already priority"),
        (["case", "priority", c, "A", "--at", "2026-10-05T06:00:00Z"], "opened at"),
        (["case", "escalate", "99", "2"], "no case with id 99"),
        (["case", "escalate", c, "5"], "LEVEL must be 1, 2, 3 or 4"),
        (["case", "escalate", c, "two"], "LEVEL must be 1, 2, 3 or 4"),
        (["case", "escalate", c, "2", "--at", "yesterday"], "--at"),
        (["case", "rca", "99"], "no case with id 99"),
        (["case", "rca", c, "--at", "2026-10-05T08:00:00"], "no UTC offset"),
        (["case", "rca", d, "--at", "2026-10-06T08:00:00Z"], "resolved at"),
        (["case", "rca", c, "--delivered"], "no root-cause analysis was requested"),
        (["case", "wait", "99", "--from", "2026-10-05T07:30:00Z", "--reason", "x"], "id 99"),
        (["case", "wait", c, "--from", "2026-10-05T07:30:00", "--reason", "x"], "no UTC offset"),
        (
            [
                "case",
                "wait",
                c,
                "--from",
                "2026-10-05T07:30:00Z",
                "--to",
                "2026-10-05T07:00:00Z",
                "--reason",
                "x",
            ],
            "is not after",
        ),
        (["case", "wait", c, "--from", "2026-10-05T07:30:00Z", "--reason", " "], "--reason"),
        (["case", "resolve", d, "--at", "2026-10-05T08:00:00Z"], "already resolved"),
        (["case", "resolve", "99"], "no case with id 99"),
        (["case", "show", "99"], "no case with id 99"),
    ]
    for args, fragment in bad:
        assert_user_error(run_cli(*cfg, *args), fragment)
    assert ok_json(run_cli, *cfg, "case", "list", "--json") == before


def test_respond_help_says_a_first_response_is_a_human_contact(run_cli: RunCli) -> None:
    shown = run_cli("case", "respond", "--help")
    assert shown.returncode == 0
    assert "human, non-automated" in " ".join(shown.stdout.split())


def test_a_time_in_the_future_is_refused_like_the_dashboard_refuses_it(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """A case cannot have been opened, answered, re-rated or resolved yet: every --at,
    --opened-at, --responded-at and wait --from/--to later than now is one line, exit 2,
    and nothing is written (the dashboard's forms refuse the same through parse_past)."""
    cfg = _cli(tmp_path, run_cli, write_config)
    case = str(_open(run_cli, cfg, "erp", "B", "2026-10-05T07:00:00Z"))
    before = ok_json(run_cli, *cfg, "case", "list", "--json")
    later = "2099-01-01T00:00:00Z"
    bad = [
        ["case", "open", "--service", "erp", "--priority", "B", "--title", "t",
         "--opened-at", later],
        ["case", "respond", case, "--at", later],
        ["case", "resolve", case, "--at", later],
        ["case", "priority", case, "A", "--at", later],
        ["case", "escalate", case, "2", "--at", later],
        ["case", "rca", case, "--at", later],
        ["case", "wait", case, "--from", later, "--reason", "logs"],
        ["case", "wait", case, "--from", "2026-10-05T07:30:00Z", "--to", later,
         "--reason", "logs"],
        ["case", "edit", case, "--opened-at", later],
        ["case", "edit", case, "--responded-at", later],
    ]  # fmt: skip
    for args in bad:
        assert_user_error(run_cli(*cfg, *args), "2099-01-01T00:00:00Z is in the future")
    assert ok_json(run_cli, *cfg, "case", "list", "--json") == before
    # Only the case's own opening is in the trail: nothing refused was recorded.
    assert [e["kind"] for e in ok_json(run_cli, *cfg, "audit", "--json")] == ["case.open"]
