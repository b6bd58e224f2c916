"""systemd: the notify protocol, the unit file (checked by systemd-analyze), `service install`."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from agent.systemd import SystemdNotifier, quote_arg, unit_text
from tests import configs
from tests.tools import require

ROOT = Path(__file__).parent.parent.parent
SLAWATCH = [sys.executable, "-m", "slawatch"]
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")

WEB = dict(
    contracts=[configs.contract("c", bands=[configs.band(0.0, 0)])],
    services=[configs.service("web", "c", "1.00", probe="http://127.0.0.1:9/")],
)
CONFIG = configs.toml(storage="data/slawatch.db", **WEB)


def test_sd_notify_datagrams_reach_the_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(2)
        env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
        notifier = SystemdNotifier(env)
        assert notifier.watchdog_interval == 15.0
        assert notifier.ready() and notifier.watchdog() and notifier.stopping()
        got = [sock.recv(256).decode() for _ in range(3)]
    assert got[0].startswith("READY=1")
    assert got[1:] == ["WATCHDOG=1", "STOPPING=1"]


def test_sd_notify_is_silent_outside_systemd_and_ignores_another_pids_watchdog() -> None:
    assert not SystemdNotifier({}).ready()
    other = SystemdNotifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_interval is None or os.getpid() == 1


def test_exec_start_quoting() -> None:
    assert quote_arg("/usr/bin/slawatch") == "/usr/bin/slawatch"
    assert quote_arg("/srv/my configs/c.toml") == '"/srv/my configs/c.toml"'
    assert quote_arg("100%") == "100%%"


def test_unit_sandbox_and_home_handling() -> None:
    unit = unit_text(
        exec_start=["/opt/slawatch/bin/slawatch", "agent"], data_dir=Path("/var/lib/slawatch")
    )
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "User=slawatch",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/slawatch",
        "StateDirectory=slawatch",
        "NoNewPrivileges=yes",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "WatchdogSec=60s",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "RestartPreventExitStatus=2",
    ):
        assert line in unit.splitlines()
    at_home = unit_text(exec_start=["/home/ops/venv/bin/slawatch"], data_dir=Path("/srv/sla"))
    assert "ProtectHome=read-only" in at_home.splitlines()
    assert not any(ln.startswith("StateDirectory") for ln in at_home.splitlines())


def test_reference_unit_is_what_unit_text_writes() -> None:
    expected = unit_text(
        exec_start=["/opt/slawatch/bin/slawatch", "--config", "/etc/slawatch/config.toml", "agent"],
        data_dir=Path("/var/lib/slawatch"),
    )
    assert (ROOT / "deploy" / "slawatch-agent.service").read_text() == expected


@pytest.mark.parametrize("name", [None, "paris 1%"])
def test_unit_passes_systemd_analyze_verify(tmp_path: Path, name: str | None) -> None:
    require("systemd-analyze")  # skips without it, fails under CI=true
    assert SYSTEMD_ANALYZE is not None
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "config.toml"
    unit = tmp_path / "slawatch-agent.service"
    # verify needs a user and a program that exist on this machine.
    unit.write_text(
        unit_text(
            exec_start=[
                sys.executable,
                "-m",
                "slawatch",
                "--config",
                str(config),
                "agent",
                *(["--name", name] if name else []),
            ],
            data_dir=data,
            user=getpass.getuser(),
            reads=[Path(sys.prefix), Path(sys.base_prefix)],
            agent_name=name,
            fleet=name is not None,
        )
    )
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert unit.name not in done.stderr, done.stderr


def test_service_install_prints_and_writes_the_unit(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    printed = subprocess.run(
        [*SLAWATCH, "--config", str(config), "service", "install", "--print"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert printed.returncode == 0, printed.stderr
    exec_line = next(ln for ln in printed.stdout.splitlines() if ln.startswith("ExecStart="))
    assert exec_line.endswith(f"--config {config} agent")
    assert Path(exec_line.removeprefix("ExecStart=").split()[0]).is_absolute()
    assert f"ReadWritePaths={tmp_path / 'data'}" in printed.stdout
    assert "PrivateTmp=yes" not in printed.stdout  # the database lives under /tmp here

    target = tmp_path / "units" / "slawatch-agent.service"
    wrote = subprocess.run(
        [*SLAWATCH, "--config", str(config), "service", "install", "--path", str(target)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert wrote.returncode == 0, wrote.stderr
    assert target.read_text() == printed.stdout

    blocked = tmp_path / "file"
    blocked.write_text("")
    bad = subprocess.run(
        [*SLAWATCH, "--config", str(config), "service", "install", "--path", f"{blocked}/x"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("slawatch: --path: cannot write") and bad.stderr.count("\n") == 1


def test_service_install_for_an_existing_user_takes_its_group_and_skips_useradd(
    tmp_path: Path,
) -> None:
    """``--user nobody``: Group= is the user's own primary group (``nogroup`` on
    Debian, where Group=nobody fails), and no useradd for a user that exists."""
    import grp
    import pwd

    users = pwd.getpwall()
    known = next(
        (u for u in users if grp.getgrgid(u.pw_gid).gr_name != u.pw_name),
        pwd.getpwuid(os.getuid()),
    )
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    for user, group, useradd in (
        (known.pw_name, grp.getgrgid(known.pw_gid).gr_name, False),
        ("slawatch-no-such-user", "slawatch-no-such-user", True),
    ):
        target = tmp_path / user / "slawatch-agent.service"
        wrote = subprocess.run(
            [*SLAWATCH, "--config", str(config), "service", "install", "--path", str(target),
             "--user", user],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert wrote.returncode == 0, wrote.stderr
        unit = target.read_text()
        assert f"\nUser={user}\nGroup={group}\n" in unit
        assert ("useradd" in wrote.stdout) is useradd, wrote.stdout


FLEET_CONFIG = configs.toml(
    url="postgresql://db.internal/slawatch?sslmode=verify-full", spool="state/spool.db", **WEB
)


def test_service_install_name_writes_the_unit_of_one_vantage_point(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(FLEET_CONFIG)

    def install(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SLAWATCH, "--config", str(config), "service", "install", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )

    printed = install("--name", "paris-1", "--print")
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert next(ln for ln in lines if ln.startswith("ExecStart=")).endswith(
        f"--config {config} agent --name paris-1"
    )
    assert "Description=slawatch SLA probe agent (paris-1)" in lines
    assert f"ReadWritePaths={tmp_path / 'state'}" in lines  # the spool's folder, not the config's
    assert "forwarded to PostgreSQL" in lines[0]

    target = tmp_path / "units" / "slawatch-agent-paris-1.service"
    wrote = install("--name", "paris-1", "--path", str(target))
    assert wrote.returncode == 0, wrote.stderr
    assert target.read_text() == printed.stdout
    assert "systemctl enable --now slawatch-agent-paris-1\n" in wrote.stdout
    assert 'CREATE ROLE "paris-1" LOGIN IN ROLE slawatch_agent' in wrote.stdout

    for bad in (" paris-1", "", "x" * 64):
        refused = install("--name", bad, "--path", str(tmp_path / "units" / "bad.service"))
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.startswith("slawatch: --name: ") and refused.stderr.count("\n") == 1
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_service_install_spool_gives_a_second_agent_of_one_config_its_own(
    tmp_path: Path,
) -> None:
    """Two vantage points on one server from one config: the second unit runs with a
    spool of its own (the first's is locked) and may write that spool's folder only."""
    config = tmp_path / "config.toml"
    config.write_text(FLEET_CONFIG)
    other = tmp_path / "paris-2" / "spool.db"

    def install(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SLAWATCH, "--config", str(config), "service", "install", *args],
            capture_output=True, text=True, timeout=30, cwd=tmp_path,
        )  # fmt: skip

    printed = install("--name", "paris-2", "--spool", "paris-2/spool.db", "--print")
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert next(ln for ln in lines if ln.startswith("ExecStart=")).endswith(
        f"--config {config} agent --name paris-2 --spool {other}"
    )
    assert f"ReadWritePaths={other.parent}" in lines

    config.write_text(configs.toml(storage="slawatch.db", **WEB))  # a single machine's
    refused = install("--spool", "x.db", "--print")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("slawatch: --spool: this config writes ")
    assert refused.stderr.count("\n") == 1, refused.stderr


def test_a_program_the_service_user_cannot_reach_is_named() -> None:
    import shutil
    import tempfile

    from agent.systemd import not_runnable_by

    base = Path(tempfile.mkdtemp(prefix="slawatch-unit-"))  # under /tmp, open to all
    base.chmod(0o755)
    closed = base / "private"
    (closed / "bin").mkdir(parents=True)
    program = closed / "bin" / "python"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    closed.chmod(0o700)  # like /root: nobody else may enter
    try:
        why = not_runnable_by(program, "nobody")
        assert why is not None and str(closed) in why
        closed.chmod(0o755)
        assert not_runnable_by(program, "nobody") is None
        program.chmod(0o700)
        assert "not executable" in (not_runnable_by(program, "nobody") or "")
    finally:
        closed.chmod(0o755)
        shutil.rmtree(base)


def test_service_install_warns_when_the_user_cannot_read_its_checkpoint_key(
    tmp_path: Path,
) -> None:
    """The agent refuses to start (exit 2) without a readable [agent.checkpoint] key;
    as root, `key init` writes it 0600 root's, which the unit's User= cannot read."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="slawatch-unit-"))  # under /tmp, open to all
    base.chmod(0o755)
    keys = base / "keys"
    keys.mkdir(mode=0o755)
    config = base / "config.toml"
    config.write_text(
        configs.toml(
            storage=str(base / "data" / "slawatch.db"),
            agent=configs.agent(
                "paris-1", checkpoint={"webhook": "https://auditor.example/h", "key": "keys"}
            ),
            **WEB,
        )
    )
    config.chmod(0o644)
    try:
        made = subprocess.run(
            [*SLAWATCH, "--config", str(config), "key", "init", "--out", str(keys / "paris-1.key")],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr

        def install() -> str:
            done = subprocess.run(
                [*SLAWATCH, "--config", str(config), "service", "install", "--print",
                 "--user", "nobody"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            return done.stderr

        key = keys / "paris-1.key"
        warned = [ln for ln in install().splitlines() if "checkpoint key" in ln]
        assert len(warned) == 1 and f"User=nobody cannot read its checkpoint key {key}" in warned[0]
        assert f"chown nobody: {key}" in warned[0]
        key.chmod(0o644)  # readable by all (key init warns about that): no warning here
        keys.chmod(0o755)  # key init made its folder 0700
        assert "checkpoint key" not in install()
    finally:
        import shutil

        shutil.rmtree(base)
