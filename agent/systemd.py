"""systemd integration: the ``sd_notify`` protocol and the agent's unit file.

``sd_notify`` is one datagram to the AF_UNIX socket named by ``NOTIFY_SOCKET``
(a leading ``@`` means the abstract namespace). Outside systemd the variable is
absent and every call is a no-op, so the agent runs the same in a terminal.
The unit is ``Type=notify``: systemd considers the agent started only after
``READY=1`` (store open, scheduler running), and restarts it when the main
loop stops sending ``WATCHDOG=1`` (at half of ``WatchdogSec``).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger("slawatch.agent.systemd")

UNIT_NAME = "slawatch-agent.service"
DEFAULT_UNIT_PATH = Path("/etc/systemd/system") / UNIT_NAME


class SystemdNotifier:
    """Sends sd_notify messages; silent when not started by systemd."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_interval = _watchdog_interval(env)
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, state: str) -> bool:
        """Send one state message (``READY=1``...); True when it was sent."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(state.encode(), self.address)
        except OSError as exc:
            if not self._failed:
                log.warning("cannot notify systemd: %s", exc)
                self._failed = True
            return False
        return True

    def ready(self) -> bool:
        return self.notify("READY=1\nSTATUS=probing")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={' '.join(text.split())}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")


def _socket_address(raw: str) -> str | None:
    if not raw:
        return None
    if raw.startswith("@"):
        return "\0" + raw[1:]
    return raw if raw.startswith("/") else None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), None when not asked."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2_000_000


def quote_arg(arg: str) -> str:
    """One ExecStart argument in systemd's syntax (quoted and escaped when needed)."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if escaped and not any(c in escaped for c in " \t\n\"'\\;"):
        return escaped
    inner = escaped.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{inner}"'


def _path_value(path: Path) -> str:
    text = str(path).replace("%", "%%")
    if any(c.isspace() for c in text) or '"' in text:
        inner = text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{inner}"'
    return text


_HOME_ROOTS = ("/home", "/root", "/run/user")
_TMP_ROOTS = ("/tmp", "/var/tmp")


def _under(paths: Sequence[Path], roots: Sequence[str]) -> bool:
    """Whether any path, or where its symlinks lead, lies under one of ``roots``."""
    candidates = [*paths, *(p.resolve() for p in paths)]
    return any(p == Path(r) or Path(r) in p.parents for p in candidates for r in roots)


def _state_directory(data_dir: Path) -> list[str]:
    """Under /var/lib, let systemd create the folder, owned by the agent's user."""
    if data_dir.parent == Path("/var/lib") and data_dir.name:
        return [f"StateDirectory={data_dir.name}", "StateDirectoryMode=0700"]
    return []


def not_runnable_by(program: Path, user: str, *, read: bool = False) -> str | None:
    """Why ``user`` could not run ``program`` (a folder on the way it may not enter,
    or a file it may not execute; with ``read``, may not read), following symlinks;
    None when it can (or when that cannot be told). A user that does not exist yet is
    judged as "others"."""
    import pwd
    import stat

    try:
        entry = pwd.getpwnam(user)
        uid, gids = entry.pw_uid, {entry.pw_gid, *os.getgrouplist(user, entry.pw_gid)}
    except KeyError:
        uid, gids = -1, set()
    if uid == 0:
        return None

    def allowed(path: Path, bit_owner: int, bit_group: int, bit_other: int) -> bool:
        st = path.stat()
        if st.st_uid == uid:
            return bool(st.st_mode & bit_owner)
        if st.st_gid in gids:
            return bool(st.st_mode & bit_group)
        return bool(st.st_mode & bit_other)

    try:
        target = program.resolve()
        for folder in [*reversed(target.parents)]:
            if not allowed(folder, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
                return f"{folder} is not open to {user}"
        if read and not allowed(target, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH):
            return f"{target} is not readable by {user}"
        if not read and not allowed(target, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
            return f"{target} is not executable by {user}"
    except OSError:
        return None
    return None


ENVIRONMENT_FILE = Path("/etc/slawatch/agent.env")
"""Where the unit reads the agent's secrets from (``EnvironmentFile=``)."""


def unit_text(
    *,
    exec_start: Sequence[str],
    data_dir: Path,
    user: str = "slawatch",
    group: str | None = None,
    watchdog_sec: int = 60,
    environment_file: Path | None = ENVIRONMENT_FILE,
    reads: Sequence[Path] = (),
    agent_name: str | None = None,
    fleet: bool = False,
) -> str:
    """The systemd unit that runs the agent, sandboxed to what it needs.

    ``exec_start`` is the full argv (absolute program path first); ``data_dir``
    is the database's folder, the only place the agent may write. Probe header
    secrets (``header_env``) belong in ``environment_file`` (mode 0600), which
    is optional (``-``) so the unit starts without one. ``reads`` are further
    paths the agent must see (the Python installation, the package): when one
    of them, or the program, lives under /home or /root, home folders become
    read-only instead of invisible, and under /tmp the private /tmp is left off.
    ``agent_name`` (one vantage point of a fleet) goes in the description, so that
    ``systemctl status`` says which; ``fleet``: ``data_dir`` holds the agent's spool,
    forwarded to PostgreSQL.
    """
    if not exec_start or not Path(exec_start[0]).is_absolute():
        raise ValueError("exec_start must start with an absolute program path")
    paths = [Path(a) for a in exec_start if a.startswith("/")] + [data_dir, *reads]
    protect_home = "read-only" if _under(paths, _HOME_ROOTS) else "yes"
    private_tmp = [] if _under(paths, _TMP_ROOTS) else ["PrivateTmp=yes"]
    records = "in its spool, forwarded to PostgreSQL" if fleet else "into SQLite"
    named = f" ({agent_name.replace('%', '%%')})" if agent_name else ""  # % is a specifier
    description = f"slawatch SLA probe agent{named}"
    lines = [
        f"# slawatch probe agent: records minute-level availability {records}.",
        "# Generated by `slawatch service install`; re-run it after moving slawatch.",
        "[Unit]",
        f"Description={description}",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        "ExecStart=" + " ".join(quote_arg(a) for a in exec_start),
        # SIGHUP re-reads the config; a bad one is refused in one log line, the old kept.
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "RestartSec=5s",
        # Exit status 2 is a bad config: restarting cannot fix it, so the unit stops.
        "RestartPreventExitStatus=2",
        # SIGTERM -> flush and exit; the agent needs at most 10 s for that.
        "TimeoutStopSec=15s",
        f"WatchdogSec={watchdog_sec}s",
        f"User={user}",
        f"Group={group or user}",
        "Environment=PYTHONUNBUFFERED=1",
    ]
    lines += [
        "# Behind a proxy: Environment=HTTPS_PROXY=http://proxy.corp:3128 NO_PROXY=.corp",
        "# (or proxy = ... in [agent] of the config); credentials in the env file below.",
    ]
    if environment_file is not None:
        lines.append(f"EnvironmentFile=-{_path_value(environment_file)}")
    lines += [
        "UMask=0077",
        "# Sandbox: the agent reads its config, writes only its database folder,",
        "# and talks to the network. Everything else is shut.",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        *_state_directory(data_dir),
        f"ReadWritePaths={_path_value(data_dir)}",
        f"ProtectHome={protect_home}",
        *private_tmp,
        "PrivateDevices=yes",
        "PrivateMounts=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "ProtectProc=invisible",
        "ProcSubset=pid",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "MemoryDenyWriteExecute=yes",
        "RemoveIPC=yes",
        "KeyringMode=private",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged @resources",
        "SystemCallErrorNumber=EPERM",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)
