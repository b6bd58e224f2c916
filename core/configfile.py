"""config.toml -> Config: parse with tomllib, validate every key, build frozen objects.

The loader: ``load_config(path)`` and ``parse_config(text, path)``. It imports
the dataclasses of ``core.config``, never the other way round (no import circle).

Each section has one small function taking a ``Table`` (which knows its key
path), so every error names the file and the exact key, e.g.
``config.toml: contract "std".bands #3.min_availability: must be lower than ...``
(an item of a list numbered from 1, as bands are everywhere else: ``tomlview.list_item``).
Each ``[[calendar]]``, ``[[contract]]``, ``[[service]]`` and top-level table is
read on its own, and so is each part of a calendar, contract or service (each
band, priority, day of hours and holiday too), so one reading finds every mistake
that does not hang on another (``ConfigErrors``); a part or table that names a
broken one is not blamed for it.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from core.calendar import MAX_CLOSED_DAYS, closed_days
from core.config import (
    AgentSettings,
    Band,
    BusinessWithin,
    Calendar,
    Checkpointing,
    Config,
    Contract,
    DayWindow,
    Notifier,
    Party,
    PriorityRule,
    Probe,
    ReportWithin,
    Service,
    WeeklyMaintenance,
)
from core.durations import (
    DAY_NAMES,
    format_timedelta,
    parse_day,
    parse_duration,
    parse_latency,
    parse_span,
    parse_time_of_day,
    parse_timedelta,
)
from core.errors import ConfigError, ConfigErrors
from core.jsonpath import parse_json_path
from core.profiles import CALENDARS, DEFAULT_PROFILE, LOCAL_HOURS_PROFILES, PROFILES
from core.tomlview import Table, did_you_mean, list_item
from core.zones import zone

T = TypeVar("T")

_SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_AGENT_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
MAX_AGENT_NAME = 63  # PostgreSQL's longest role name: a fleet agent logs in under its name


def agent_name_problem(name: str) -> str | None:
    """What is wrong with an agent's name, or None. The name is the agent's source,
    its PostgreSQL role, its key file (``NAME.key``), a unit's name and a word of
    ``--sources A,B`` and ``--prev-head NAME=HEAD``: a space, a slash, a comma or an
    equals sign would break one of them."""
    if not name.strip():
        return "the agent name must not be empty"
    if len(name.encode()) > MAX_AGENT_NAME:
        return f"the agent name must be at most {MAX_AGENT_NAME} bytes (a PostgreSQL role name)"
    if not _AGENT_NAME_RE.fullmatch(name):
        return (
            f"{name!r}: use letters, digits, '.', '_' or '-', starting with a letter or"
            " digit (the name is the agent's PostgreSQL role and key file), e.g. paris-1"
        )
    return None


_STATUS_RE = re.compile(r"^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$")
_TOML_LINE_RE = re.compile(r"^(.*?)\s*\(at line (\d+), column (\d+)\)$")
_CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")
_MONEY_RE = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,12})?\Z", re.ASCII)
_COMPLEMENT = "100-availability"


def load_config(path: Path) -> Config:
    """Read and validate a config file; every mistake is a ConfigError naming file and key."""
    display = display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            display, "no such config file (give --config FILE or set $SLAWATCH_CONFIG)"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(display, "is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(display, f"cannot be read: {exc.strerror or exc}") from None
    return _parse(text, path, display)


def parse_config(text: str, path: Path, *, display: str | None = None) -> Config:
    """Validate config text as if read from ``path`` (relative paths resolve against its folder).

    ``display`` is how error messages name the file (default: ``path`` as given).
    """
    return _parse(text, path, display or str(path))


def display_name(path: Path) -> str:
    """The path relative to the working folder when it is below it, else as given."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _parse(text: str, path: Path, display: str) -> Config:
    try:
        data = tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per nesting level
        raise ConfigError(display, "invalid TOML: nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE_RE.match(str(exc))
        if m:
            raise ConfigError(
                f"{display}: line {m.group(2)}", f"invalid TOML: {m.group(1)}"
            ) from None
        raise ConfigError(display, f"invalid TOML: {exc}") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise ConfigError(display, "invalid TOML: a number with too many digits") from None
    root = Table(data, display)
    found = _Found()
    found.attempt(
        lambda: root.check_keys(
            ("storage", "cases", "calendar", "contract", "service", "agent", "customer", "provider")
        ),
        None,
    )
    found.channels = found.attempt(lambda: _channels(root), found.channels)
    calendars = _calendars(root, found)
    contracts = _contracts(root, calendars, found)
    services = _services(root, contracts, calendars, path.parent, found)
    config = Config(
        path=path,
        storage_path=found.attempt(lambda: _storage_path(root, path), path),
        storage_url=found.attempt(lambda: _storage_url(root), None),
        spool_path=found.attempt(lambda: _spool_path(root, path), None),
        calendars=MappingProxyType(calendars),
        contracts=MappingProxyType(contracts),
        services=MappingProxyType(services),
        agent=found.attempt(lambda: _agent(root, path), AgentSettings()),
        warnings=tuple(found.warnings),
        channels=found.channels,
        customer=found.attempt(lambda: _party(root, "customer"), None),
        provider=found.attempt(lambda: _party(root, "provider"), None),
    )
    if found.errors:
        raise ConfigErrors(found.errors)
    return config


class _Mistakes:
    """Mistakes collected while reading on: each part is tried on its own, and a part
    in error reads as a default (the config is refused anyway)."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    def attempt(self, read: Callable[[], T], default: T) -> T:
        try:
            return read()
        except ConfigError as exc:
            self.note(exc)
            return default

    def note(self, exc: ConfigError) -> None:
        """Keep each mistake once: two readers of one table (``[storage]`` gives both
        the database and the spool path) must not report its bad key twice."""
        seen = {(e.where, e.what) for e in self.errors}
        for error in exc.errors if isinstance(exc, ConfigErrors) else (exc,):
            if (error.where, error.what) not in seen:
                seen.add((error.where, error.what))
                self.errors.append(error)

    def raise_any(self) -> None:
        """Raise what was found: the one mistake as it is, several as ConfigErrors."""
        if self.errors:
            raise self.errors[0] if len(self.errors) == 1 else ConfigErrors(self.errors)


class _Found(_Mistakes):
    """The errors and warnings of one reading, and the names of broken tables."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self.broken: dict[str, set[str]] = {"calendar": set(), "contract": set()}
        self.explicit_zone: set[str] = set()  # file calendars that name their time zone
        self.calendar_tables: dict[str, Table] = {}
        self.defined_contracts: set[str] = set()  # [[contract]] names in the file
        self.channels: tuple[str, ...] = Config.channels  # [cases] channels

    def tables(self, root: Table, key: str) -> list[Table]:
        empty: list[Table] = []
        return self.attempt(lambda: root.tables(key), empty)

    @contextmanager
    def each(self) -> Iterator[None]:
        try:
            yield
        except ConfigError as exc:
            self.note(exc)

    def warn(self, where: str, what: str) -> None:
        self.warnings.append(f"{where}: warning: {what}")


def _storage_path(root: Table, path: Path) -> Path:
    return _file_key(root, path, "path", "slawatch.db")


def _spool_path(root: Table, path: Path) -> Path:
    return _file_key(root, path, "spool", "spool.db")


def _file_key(root: Table, path: Path, key: str, default: str) -> Path:
    """A file named in ``[storage]``, relative to the config file's folder."""
    storage = root.table("storage")
    raw = default
    if storage is not None:
        storage.check_keys(("path", "url", "spool"))
        raw = storage.text(key, raw)
        if "\0" in raw:
            raise storage.error(key, "must not contain a NUL character")
    target = Path(raw).expanduser()
    return target if target.is_absolute() else (path.parent / target).absolute()


def _storage_url(root: Table) -> str | None:
    """``[storage] url``: the fleet's PostgreSQL database (never with ``path``)."""
    storage = root.table("storage")
    if storage is None or not storage.has("url"):
        return None
    if storage.has("path"):
        raise storage.error(None, "give either path (SQLite) or url (PostgreSQL), not both")
    url: str = storage.text("url")
    check_database_url(url, storage.where("url"))
    return url


def check_database_url(url: str, where: str) -> None:
    """A PostgreSQL URL slawatch can use, or a ConfigError naming ``where``."""
    from core.dburl import mask_url

    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            where, f"{mask_url(url)!r} is not a PostgreSQL URL (postgresql://user@host/db)"
        )
    if any(c in url for c in "\0\n\r"):
        raise ConfigError(where, "must not contain a NUL or line break")
    problem = _database_url_problem(url)
    if problem is not None:
        raise ConfigError(where, f"{problem}, in {mask_url(url)!r}")


_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _database_url_problem(url: str) -> str | None:
    """What libpq would refuse only when connecting (so an agent started with it would
    wait, never ready, and a command fail at its first query): a port that is no
    number, an unknown ``sslmode``. Hosts may be several, ``h1:5432,h2:5433``."""
    rest = url.split("://", 1)[1]
    netloc, _, tail = rest.partition("/")
    hosts = netloc.rpartition("@")[2]
    for host in hosts.split(","):
        if host.startswith("[") and "]" not in host:
            return f"the IPv6 address {host!r} has no closing ']'"
        port = (
            host.rpartition("]")[2].partition(":")[2]
            if host.startswith("[")
            else (host.partition(":")[2])
        )
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            return f"the port must be a number from 1 to 65535, not {port!r}"
    query = parse_qs(tail.partition("?")[2] or netloc.partition("?")[2])
    for mode in query.get("sslmode", []):
        if mode not in _SSLMODES:
            return f"sslmode must be one of {', '.join(_SSLMODES)}, not {mode!r}"
    return None


def _zone(t: Table, key: str) -> ZoneInfo:
    try:
        return zone(t.text(key, "UTC"))
    except ValueError as exc:
        raise t.error(key, str(exc)) from None


def _unique(seen: Mapping[str, object], t: Table, name: str, kind: str) -> None:
    if name in seen:
        raise t.error("name", f"duplicate {kind} name {name!r}")


# -- calendars ---------------------------------------------------------------


def _calendars(root: Table, found: _Found) -> dict[str, Calendar]:
    calendars: dict[str, Calendar] = {}
    for t in found.tables(root, "calendar"):
        with found.each():
            name = t.text("name")
            found.calendar_tables[name] = t
            try:
                cal = _calendar(t, name)
            except ConfigError:
                found.broken["calendar"].add(name)
                raise
            _unique(calendars, t, cal.name, "calendar")
            calendars[cal.name] = cal
            if t.has("timezone"):
                found.explicit_zone.add(name)
    return calendars


def builtin_calendar(name: str) -> Calendar:
    """A profile's calendar (``saas-support``, ``enterprise-business``) as built in."""
    return _calendar(Table(CALENDARS[name], "built-in", f"calendar {name!r}"), name)


def _calendar(t: Table, name: str) -> Calendar:
    """Every part read on its own, so a missing ``hours`` does not hide a bad holiday."""
    found = _Mistakes()
    found.attempt(
        lambda: t.check_keys(("name", "timezone", "business_day", "holidays", "country", "hours")),
        None,
    )
    hours = found.attempt(lambda: _hours(t), None)
    longest = max(
        (sum((_window_length(w) for w in day), timedelta()) for day in (hours or {}).values()),
        default=timedelta(),
    )
    if hours is not None and longest <= timedelta():
        found.note(t.error("hours", "a calendar needs support hours on at least one day"))
    business_day = longest
    if t.has("business_day"):
        business_day = found.attempt(
            lambda: parse_timedelta(t.text("business_day"), t.where("business_day")), longest
        )
    calendar = Calendar(
        name=name,
        timezone=found.attempt(lambda: _zone(t, "timezone"), ZoneInfo("UTC")),
        hours=MappingProxyType(hours or {}),
        business_day=business_day,
        holidays=found.attempt(lambda: _holidays(t), frozenset()),
        country=found.attempt(lambda: _country(t), None),
    )
    if hours and calendar.holidays and closed_days(hours, calendar.holidays) > MAX_CLOSED_DAYS:
        found.note(t.error("holidays", "close support for more than ten years in a row"))
    found.raise_any()
    return calendar


def _window_length(w: DayWindow) -> timedelta:
    start = w.start.hour * 60 + w.start.minute
    end = w.end.hour * 60 + w.end.minute
    return timedelta(minutes=(end - start) % 1440 or 1440)


def _hours(t: Table) -> dict[int, tuple[DayWindow, ...]]:
    table = t.table("hours")
    if table is None:
        raise t.error("hours", 'is required (a table like mon = "08:00-17:30")')
    found = _Mistakes()  # every bad day, not only the first
    found.attempt(lambda: table.check_keys(DAY_NAMES), None)
    hours: dict[int, tuple[DayWindow, ...]] = {}
    for key, value in table.data.items():
        if key in DAY_NAMES:
            no_windows: tuple[DayWindow, ...] = ()
            windows = found.attempt(partial(_day_windows, table, key, value), no_windows)
            hours[DAY_NAMES.index(key)] = windows
    found.raise_any()
    return hours


def _day_windows(table: Table, key: str, value: object) -> tuple[DayWindow, ...]:
    spans = [value] if isinstance(value, str) else value
    if not isinstance(spans, list) or not spans:
        raise table.error(key, 'must be hours like "08:00-17:30" or a list of them')
    windows = []
    for index, span in enumerate(spans):
        where = table.where(key if isinstance(value, str) else list_item(key, index))
        start, end = parse_span(span, where)
        windows.append(DayWindow(start, end))
    return tuple(windows)


def _holidays(t: Table) -> frozenset[date]:
    raw = t.raw("holidays", [])
    if not isinstance(raw, list):
        raise t.error("holidays", 'must be an array of dates like "2026-12-25"')
    found = _Mistakes()  # every bad date, not only the first
    days = [found.attempt(partial(_holiday, t, i, item), None) for i, item in enumerate(raw)]
    found.raise_any()
    return frozenset(day for day in days if day is not None)


def _holiday(t: Table, index: int, item: object) -> date:
    """A TOML date (``2026-12-25``) or ISO date text (``"2026-12-25"``)."""
    if isinstance(item, date) and not isinstance(item, datetime):
        return item
    if isinstance(item, str):
        try:
            return date.fromisoformat(item.strip())
        except ValueError:
            pass
    raise t.error(list_item("holidays", index), f"expected a date YYYY-MM-DD, got {item!r}")


def _country(t: Table) -> str | None:
    if not t.has("country"):
        return None
    code: str = t.text("country").strip().upper()
    # The registry, not list_supported_countries(): that imports every country (~2 s).
    from holidays.registry import COUNTRIES

    if not any(code in names[1:] for names in COUNTRIES.values()):
        raise t.error("country", f"{code!r} is not a country the holidays package knows (e.g. FR)")
    return code


# -- contracts ---------------------------------------------------------------

_CONTRACT_KEYS = (
    "name",
    "profile",
    "timezone",
    "basis",
    "unknown_minutes",
    "degraded_is_down",
    "report_within",
    "calendar",
    "bands",
    "priorities",
    "customer_wait_stops_clock",
    "report_channels",
)


def _contracts(root: Table, calendars: dict[str, Calendar], found: _Found) -> dict[str, Contract]:
    contracts: dict[str, Contract] = {}
    for t in found.tables(root, "contract"):
        with found.each():
            name = t.text("name")
            found.defined_contracts.add(name)
            try:
                contract = _contract(t, name, calendars, found)
            except ConfigError:
                found.broken["contract"].add(name)
                raise
            _unique(contracts, t, contract.name, "contract")
            contracts[contract.name] = contract
    return contracts


def profile_contract(
    profile: str, calendars: dict[str, Calendar], found: _Found | None = None
) -> Contract:
    """A contract that is exactly a built-in profile (for a service naming the profile)."""
    return _contract(
        Table({"profile": profile}, "built-in", f"profile {profile!r}"),
        profile,
        calendars,
        found or _Found(),
    )


def _contract(t: Table, name: str, calendars: dict[str, Calendar], found: _Found) -> Contract:
    """Every part read on its own, so a bad ``basis`` does not hide a missing calendar
    (a part that depends on a broken one is not blamed for it)."""
    mistakes = _Mistakes()
    mistakes.attempt(lambda: t.check_keys(_CONTRACT_KEYS), None)
    profile: str | None = mistakes.attempt(lambda: t.text("profile", DEFAULT_PROFILE), None)
    known = profile in PROFILES
    if profile is not None and not known:
        hint = did_you_mean(profile, PROFILES) or f" (built in: {', '.join(PROFILES)})"
        mistakes.note(t.error("profile", f"unknown profile {profile!r}{hint}"))
    profile = profile if profile is not None and known else DEFAULT_PROFILE
    merged = Table({**PROFILES[profile], **t.data}, t.file, t.path)
    basis = mistakes.attempt(lambda: _choice(merged, "basis", ("percent", "minutes")), None)
    calendar = mistakes.attempt(lambda: _calendar_ref(merged, calendars, found), None)
    if (
        profile in LOCAL_HOURS_PROFILES
        and calendar is not None
        and calendar not in found.broken["calendar"]
    ):
        mistakes.attempt(lambda: _local_hours(merged, profile, calendar, calendars, found), None)
    contract = Contract(
        name=name,
        timezone=mistakes.attempt(lambda: _zone(merged, "timezone"), ZoneInfo("UTC")),
        basis=basis or "percent",
        unknown_minutes=mistakes.attempt(
            lambda: _choice(merged, "unknown_minutes", ("available", "excluded")), "available"
        ),
        degraded_is_down=mistakes.attempt(lambda: merged.flag("degraded_is_down"), False),
        report_within=mistakes.attempt(
            lambda: _report_within(merged, calendars.get(calendar or "")), _DEFAULT_WITHIN
        ),
        calendar=calendar or "",
        # A bad basis reads as "percent", whose band rules are a subset of "minutes"'s.
        bands=mistakes.attempt(lambda: _bands(merged, basis or "percent"), ()),
        priorities=MappingProxyType(mistakes.attempt(lambda: _priorities(merged), {})),
        profile=profile,
        customer_wait_stops_clock=mistakes.attempt(
            lambda: merged.flag("customer_wait_stops_clock", False), False
        ),
        # An unknown profile's defaults are not the user's: only their own channels are read.
        report_channels=mistakes.attempt(
            lambda: (
                _report_channels(merged, found.channels)
                if known or t.has("report_channels")
                else None
            ),
            None,
        ),
    )
    mistakes.raise_any()
    return contract


def _channels(root: Table) -> tuple[str, ...]:
    """``[cases] channels = ["email", "phone", "portal"]``: the ways a case may be opened."""
    t = root.table("cases")
    if t is None:
        return Config.channels
    t.check_keys(("channels",))
    names = [name.strip().lower() for name in t.strings("channels", list(Config.channels))]
    if not names or not all(names):
        raise t.error("channels", 'needs at least one channel name, e.g. ["email", "phone"]')
    return tuple(dict.fromkeys(names))


def _report_channels(t: Table, channels: tuple[str, ...]) -> tuple[str, ...] | None:
    """The channels a report must come through to earn a credit (None: any)."""
    if not t.has("report_channels"):
        return None
    names = [name.strip().lower() for name in t.strings("report_channels")]
    if not names:
        raise t.error("report_channels", "needs at least one channel (leave it out for any)")
    for index, name in enumerate(names):
        if name not in channels:
            hint = did_you_mean(name, channels)
            raise t.error(
                list_item("report_channels", index),
                f"unknown channel {name!r}{hint} ([cases] channels: {', '.join(channels)})",
            )
    return tuple(dict.fromkeys(names))


def _choice(t: Table, key: str, options: tuple[str, ...]) -> Any:
    value = t.text(key)
    if value not in options:
        raise t.error(key, f"must be one of {', '.join(repr(o) for o in options)}, got {value!r}")
    return value


_DEFAULT_WITHIN: ReportWithin = timedelta(hours=72)


def _report_within(t: Table, calendar: Calendar | None) -> ReportWithin:
    """``report_within``: real time (``72h``), or business days (``1bd``) of the
    contract's calendar, counted as rule 9 counts a response on its hours."""
    text, where = t.text("report_within"), t.where("report_within")
    d = parse_duration(text, where)
    if not d.business_days:
        return parse_timedelta(text, where)
    if calendar is None:  # the contract's calendar is refused, and said so
        return timedelta(hours=72)
    return BusinessWithin(d, calendar)


def _calendar_ref(t: Table, calendars: dict[str, Calendar], found: _Found) -> str:
    name: str = t.text("calendar")
    if name in found.broken["calendar"]:
        return name  # reported there; the config is refused anyway
    if name not in calendars:
        if name not in CALENDARS:
            # The [[calendar]] tables of the file (a built-in one another contract
            # brought in is not "defined"; a broken one is, and was reported there).
            known = ", ".join(sorted(found.calendar_tables)) or "none"
            raise t.error("calendar", f"no [[calendar]] named {name!r} (defined: {known})")
        calendars[name] = builtin_calendar(name)
    return name


def _local_hours(
    t: Table, profile: str, name: str, calendars: dict[str, Calendar], found: _Found
) -> None:
    """The enterprise profiles count business hours in the customer's local time, less
    its public holidays: their calendar must say which time zone (UTC is no default
    here), and should say which holidays."""
    local = f"the {profile!r} profile's business hours are local time"
    table = found.calendar_tables.get(name)
    if table is None:
        raise t.error(
            "calendar",
            f"{local}: define a [[calendar]] named {name!r} with your timezone "
            '(e.g. timezone = "Europe/Paris", country = "FR")',
        )
    if name not in found.explicit_zone:
        raise table.error("timezone", f'is required: {local} (e.g. timezone = "Europe/Paris")')
    cal = calendars[name]
    if cal.country is None and not cal.holidays:
        found.warn(
            table.where(),
            f'neither country nor holidays: {local} without public holidays (add country = "FR")',
        )


def _bands(t: Table, basis: str) -> tuple[Band, ...]:
    tables = t.tables("bands")
    if not tables:
        raise t.error("bands", "needs at least one band")
    bands: list[Band] = []
    errors: list[ConfigError] = []  # every band's first mistake, not only the first band's
    for index, b in enumerate(tables):
        last = index == len(tables) - 1
        try:
            band = _band(b, basis, last)
        except ConfigError as exc:
            errors.append(exc)
            continue
        if bands and not errors:
            prev = bands[-1]
            if band.min_availability >= prev.min_availability:
                raise b.error(
                    "min_availability",
                    f"bands must go down: {band.min_availability} is not below the band "
                    f"above's {prev.min_availability}",
                )
            # The minute column goes up where it is given. On the percent basis it
            # may be left out of some bands (it is only required on the minutes
            # basis): compare with the nearest band above that gives it.
            above = next(
                (
                    p.max_downtime_minutes
                    for p in reversed(bands)
                    if p.max_downtime_minutes is not None
                ),
                None,
            )
            if (
                band.max_downtime_minutes is not None
                and above is not None
                and band.max_downtime_minutes <= above
            ):
                raise b.error(
                    "max_downtime_minutes", f"must be more than the band above's ({above})"
                )
        bands.append(band)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    if bands[-1].min_availability != 0:
        raise tables[-1].error(
            "min_availability", "the last band must start at 0 so every month has a band"
        )
    return tuple(bands)


def _band(b: Table, basis: str, last: bool) -> Band:
    b.check_keys(("min_availability", "max_downtime_minutes", "credit_percent", "credit"))
    floor: Decimal = b.number("min_availability")
    if not 0 <= floor <= 100:
        raise b.error("min_availability", f"must be between 0 and 100, got {floor}")
    max_down = b.integer("max_downtime_minutes", None, minimum=0)
    if max_down is None and basis == "minutes" and not last:
        raise b.error(
            "max_downtime_minutes", 'is required on every band but the last when basis = "minutes"'
        )
    if b.has("credit") == b.has("credit_percent"):
        raise b.error(None, 'give either credit_percent = N or credit = "100-availability"')
    if b.has("credit"):
        if b.text("credit") != _COMPLEMENT:
            raise b.error("credit", f'the only formula is "{_COMPLEMENT}"')
        return Band(floor, max_down, None, complement=True)
    credit: Decimal = b.number("credit_percent")
    if not 0 <= credit <= 100:
        raise b.error("credit_percent", f"must be between 0 and 100, got {credit}")
    return Band(floor, max_down, credit)


def _priorities(t: Table) -> dict[str, PriorityRule]:
    table = t.table("priorities")
    if table is None or not table.data:
        raise t.error("priorities", 'needs at least one priority, e.g. high = { response = "1h" }')
    found = _Mistakes()  # every priority's first mistake, not only the first priority's
    rules: dict[str, PriorityRule] = {}
    for name, value in table.data.items():
        rule = found.attempt(partial(_priority, table, name, value), None)
        if rule is not None:
            rules[name] = rule
    found.raise_any()
    return rules


def _priority(table: Table, name: str, value: object) -> PriorityRule:
    if not isinstance(value, dict):
        raise table.error(name, 'must be a table like { response = "1h", clock = "business" }')
    p = table.child(name, value)
    p.check_keys(("response", "clock", "customer"))
    response = parse_duration(p.text("response"), p.where("response"))
    if response.seconds <= 0 and response.business_days <= 0:
        raise p.error("response", "must be longer than zero")
    clock = p.text("clock", "business")
    if clock not in ("24x7", "business"):
        raise p.error("clock", f'must be "24x7" or "business", got {clock!r}')
    customer = p.text("customer", None)
    return PriorityRule(name, response, clock, customer=customer or None)


# -- services ----------------------------------------------------------------


def _services(
    root: Table,
    contracts: dict[str, Contract],
    calendars: dict[str, Calendar],
    base: Path,
    found: _Found,
) -> dict[str, Service]:
    services: dict[str, Service] = {}
    for t in found.tables(root, "service"):
        with found.each():
            service = _service(t, contracts, calendars, base, found)
            _unique(services, t, service.name, "service")
            services[service.name] = service
    return services


_SERVICE_KEYS = ("name", "contract", "monthly_fee", "currency", "probe", "maintenance")


def _service(
    t: Table,
    contracts: dict[str, Contract],
    calendars: dict[str, Calendar],
    base: Path,
    found: _Found,
) -> Service:
    t.check_keys(_SERVICE_KEYS)
    name: str = t.text("name")
    if not _SERVICE_NAME_RE.match(name):
        raise t.error("name", "use letters, digits, '.', '_' or '-' (at most 64), e.g. portal")
    contract = t.text("contract", DEFAULT_PROFILE)
    # A contract that is not there is one mistake: the rest of the service is still read.
    found.attempt(lambda: _contract_ref(t, contract, contracts, calendars, found), None)
    if not t.has("contract"):
        found.warn(
            t.where("contract"),
            f"not given: the service falls back to the default contract {contract!r}"
            + ("" if contract in found.defined_contracts else ", the built-in profile"),
        )
    # Each part on its own, so a wrong fee and a wrong probe are both reported (a
    # part in error reads as its default: the config is refused anyway).
    probe = found.attempt(lambda: t.table("probe"), None)
    fee = found.attempt(lambda: _money(t, "monthly_fee"), Decimal(0))
    currency = found.attempt(lambda: _currency(t), "EUR")
    parsed = None if probe is None else found.attempt(lambda: _probe(probe, base), None)
    if probe is not None and parsed is not None:
        _warn_outlasting(parsed, probe, found)
    return Service(
        name=name,
        contract=contract,
        monthly_fee=fee,
        currency=currency,
        probe=parsed,
        maintenance=found.attempt(
            lambda: tuple(_maintenance(m) for m in t.tables("maintenance")), ()
        ),
    )


def _warn_outlasting(probe: Probe, t: Table, found: _Found) -> None:
    """A probe whose failing runs outlast its turn: while the service is down, runs are
    skipped and some minutes get no verdict a healthy probe would give them (unknown,
    counted as available by default): down minutes lost, always to the provider's good."""
    every = probe.failing_every
    if every <= max(probe.interval, timedelta(minutes=1)):
        return
    attempts = probe.retries + 1
    found.warn(
        t.where(),
        f"a failing probe takes up to {format_timedelta(probe.longest_run)} ({attempts}"
        f" attempts of {format_timedelta(probe.timeout)},"
        f" {format_timedelta(probe.retry_delay)} apart), so while the service is down it"
        f" is probed every {format_timedelta(every)} instead of every"
        f" {format_timedelta(probe.interval)}: the minutes between are judged from the"
        " attempts of the run still going (docs/probes.md); lower timeout, retries or"
        " retry_delay to probe it as often as configured",
    )


def _contract_ref(
    t: Table,
    name: str,
    contracts: dict[str, Contract],
    calendars: dict[str, Calendar],
    found: _Found,
) -> None:
    """The contract a service names: a file's [[contract]] (a broken one was reported
    there), else a built-in profile, else the mistake naming what is defined."""
    if name in contracts or name in found.broken["contract"]:
        return
    if name not in PROFILES:
        defined = {*contracts, *found.broken["contract"]}
        known = ", ".join(sorted(defined)) or "none"
        hint = did_you_mean(name, [*defined, *PROFILES])
        raise t.error("contract", f"no [[contract]] named {name!r}{hint} (defined: {known})")
    contracts[name] = profile_contract(name, calendars, found)


def _money(t: Table, key: str) -> Decimal:
    raw = t.raw(key)
    if raw is None:
        raise t.error(key, 'is required (decimal text, e.g. "1000.00")')
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise t.error(key, f'must be decimal text like "1000.00", got {raw!r}')
    text = str(raw).strip()
    if not _MONEY_RE.match(text):  # Decimal() also reads "１０００" and "٣٠٠", and "1e3"
        raise t.error(key, f'must be decimal text like "1000.00", got {raw!r}')
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise t.error(key, f'must be decimal text like "1000.00", got {raw!r}') from None
    if not value.is_finite() or value < 0:
        raise t.error(key, f"must be a positive amount, got {raw!r}")
    if value >= _MAX_MONEY:
        raise t.error(key, f"must be less than {_MAX_MONEY:,}, got {raw!r}")
    return value


_MAX_MONEY = Decimal(10) ** 15  # beyond this, cents no longer fit Decimal's 28 digits of care


def _currency(t: Table) -> str:
    code: str = t.text("currency", "EUR")
    if not _CURRENCY_RE.match(code):
        raise t.error("currency", f"must be a three-letter code like EUR, got {code!r}")
    return code.upper()


def _maintenance(t: Table) -> WeeklyMaintenance:
    t.check_keys(("day", "from", "to", "reason"))
    return WeeklyMaintenance(
        day=parse_day(t.text("day"), t.where("day")),
        start=parse_time_of_day(t.text("from"), t.where("from")),
        end=parse_time_of_day(t.text("to"), t.where("to"), allow_24=True),
        reason=t.text("reason", "weekly maintenance"),
    )


_PROBE_KEYS = (
    "url",
    "interval",
    "timeout",
    "retries",
    "retry_delay",
    "expect_status",
    "degraded_latency",
    "contains",
    "headers",
    "header_env",
    "verify_tls",
    "verify",
    "method",
    "body",
    "follow_redirects",
    "max_redirects",
    "proxy",
    "ca_file",
    "json_path",
    "json_expect",
    "tls_warn_days",
)

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_REDIRECTS = 30

# The limits the agent is built for (checked here, so ``config check`` and every
# command refuse what ``agent`` would refuse).
MIN_INTERVAL = timedelta(seconds=5)
MAX_INTERVAL = timedelta(hours=1)
MAX_RETRIES = 10


def _probe(t: Table, base: Path) -> Probe:
    """``[service.probe]``: every mistake in it at once, not only the first."""
    m = _Mistakes()
    m.attempt(lambda: t.check_keys(_PROBE_KEYS), None)
    url: str = m.attempt(lambda: _probe_url(t), "")
    latency = t.raw("degraded_latency")
    interval = m.attempt(lambda: _probe_interval(t), None)
    timeout = m.attempt(lambda: _probe_timeout(t, interval), Probe.timeout)
    method = m.attempt(lambda: _probe_method(t), None)
    body = m.attempt(lambda: _probe_body(t, method), None)
    verify = m.attempt(lambda: _probe_verify(t), True)
    json_path = m.attempt(
        lambda: (
            parse_json_path(t.text("json_path"), t.where("json_path"))
            if t.has("json_path")
            else None
        ),
        None,
    )
    expect = m.attempt(lambda: _json_expect(t), None)
    warn = m.attempt(lambda: t.integer("tls_warn_days", None, minimum=0), None)
    probe = Probe(
        url=url,
        interval=interval or Probe.interval,
        timeout=timeout,
        retries=m.attempt(lambda: _probe_retries(t), Probe.retries),
        retry_delay=m.attempt(
            lambda: parse_timedelta(
                t.text("retry_delay", "5s"), t.where("retry_delay"), positive=False
            ),
            Probe.retry_delay,
        ),
        expect_status=m.attempt(lambda: _expect_status(t), Probe.expect_status),
        degraded_latency=None
        if latency is None
        else m.attempt(lambda: parse_latency(latency, t.where("degraded_latency")), None),
        contains=m.attempt(lambda: t.text("contains", None, nonempty=True), None),
        headers=m.attempt(lambda: _headers(t, "headers"), {}),
        header_env=m.attempt(lambda: _headers(t, "header_env"), {}),
        verify_tls=verify,
        method=method or Probe.method,
        body=body,
        follow_redirects=m.attempt(lambda: t.flag("follow_redirects", True), True),
        max_redirects=m.attempt(lambda: _max_redirects(t), Probe.max_redirects),
        proxy=m.attempt(lambda: _proxy(t), None),
        ca_file=m.attempt(lambda: _ca_file(t, base), None),
        json_path=json_path,
        json_expect=expect,
        tls_warn_days=None if warn is None else min(warn, 3650),
    )
    if expect is not None and json_path is None and not t.has("json_path"):
        m.note(t.error("json_expect", 'needs json_path = "..." naming the value to check'))
    if method == "HEAD":  # no body comes back: such a check could only ever say down
        for key in ("contains", "json_path"):
            if t.has(key):
                m.note(t.error(key, 'a HEAD answer has no body to check: use method = "GET"'))
    if url.lower().startswith("tcp://"):
        for key in _HTTP_ONLY:
            if t.has(key):  # silently ignored: a body check would never have run
                m.note(t.error(key, "applies to http(s) probes only: a tcp:// probe only connects"))
    m.raise_any()
    return probe


_HTTP_ONLY = (
    "expect_status", "contains", "headers", "header_env", "verify", "verify_tls", "method",
    "body", "follow_redirects", "max_redirects", "proxy", "ca_file", "json_path",
    "json_expect", "tls_warn_days",
)  # fmt: skip


def _probe_url(t: Table) -> str:
    url: str = t.text("url").strip()
    _check_url(t, "url", url, ("http://", "https://", "tcp://"))
    return url


def _probe_interval(t: Table) -> timedelta:
    interval = parse_timedelta(t.text("interval", "60s"), t.where("interval"))
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise t.error("interval", "must be between 5s and 1h")
    return interval


def _probe_timeout(t: Table, interval: timedelta | None) -> timedelta:
    """``timeout``; compared with the interval only when that one was read (a bad
    interval is its own mistake, not the timeout's)."""
    timeout = parse_timedelta(t.text("timeout", "10s"), t.where("timeout"))
    if interval is not None and timeout > interval:
        raise t.error("timeout", "must not be longer than the interval")
    return timeout


def _probe_retries(t: Table) -> int:
    retries: int = t.integer("retries", 2, minimum=0)
    if retries > MAX_RETRIES:
        raise t.error("retries", f"must be between 0 and {MAX_RETRIES}")
    return retries


def _probe_method(t: Table) -> str:
    method: str = t.text("method", "GET").strip().upper()
    if method not in METHODS:
        raise t.error("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    return method


def _probe_body(t: Table, method: str | None) -> str | None:
    body: str | None = t.text("body", None)
    if body is not None and method in ("GET", "HEAD"):
        raise t.error("body", f'a {method} has no body: set method = "POST" (or PUT, PATCH...)')
    return body


def _probe_verify(t: Table) -> bool:
    if t.has("verify") and t.has("verify_tls") and t.flag("verify") != t.flag("verify_tls"):
        raise t.error("verify", "verify and verify_tls disagree: give one of them")
    verify: bool = t.flag("verify", t.flag("verify_tls", True))
    return verify


def _json_expect(t: Table) -> str | int | float | bool | None:
    expect = t.raw("json_expect")
    if expect is not None and not isinstance(expect, str | int | float | bool):
        raise t.error("json_expect", f"must be a string, number or true/false, got {expect!r}")
    return expect


def _ca_file(t: Table, base: Path) -> Path | None:
    if not t.has("ca_file"):
        return None
    raw_ca: str = t.text("ca_file", nonempty=True)
    if "\0" in raw_ca:
        raise t.error("ca_file", "must not contain a NUL character")
    ca_path = Path(raw_ca).expanduser()
    return ca_path if ca_path.is_absolute() else (base / ca_path).absolute()


def _max_redirects(t: Table) -> int:
    value: int = t.integer("max_redirects", 10, minimum=0)
    if value > MAX_REDIRECTS:
        raise t.error("max_redirects", f"must be at most {MAX_REDIRECTS}, got {value}")
    return value


def mask_url(url: str) -> str:
    """A URL with any password replaced by ``***`` (proxy URLs carry credentials)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if not at:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{slash}{path}"


def _proxy(t: Table) -> str | None:
    """``proxy = "http://[user:pass@]host:port"``; ``""`` means direct (no proxy, even
    one from the environment). An error never repeats the password."""
    if not t.has("proxy"):
        return None
    raw = t.raw("proxy")
    if not isinstance(raw, str):
        raise t.error("proxy", 'must be a URL like "http://proxy.example.com:3128" or ""')
    url = raw.strip()
    if not url:
        return ""
    lowered = url.lower()
    scheme = next((s for s in ("http://", "https://") if lowered.startswith(s)), None)
    rest = url[len(scheme) :] if scheme else ""
    host = rest.split("/", 1)[0].rpartition("@")[2]
    if scheme is None or not host:
        raise t.error(
            "proxy", f"must be a URL starting with http:// or https://, got {mask_url(url)!r}"
        )
    problem = _http_url_problem(url)
    if problem is not None:
        raise t.error("proxy", f"{problem}, got {mask_url(url)!r}")
    return url


def _http_url_problem(url: str) -> str | None:
    """What stops an http(s) URL from ever being requested (the agent's client refuses
    it, so every probe would fail and its minutes count down), or None."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "has a malformed host (an IPv6 address goes in brackets: http://[::1]:8080/)"
    if not parts.hostname:
        return "names no host"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "the port must be a number from 1 to 65535"
    return None


def _check_url(t: Table, key: str, url: str, schemes: tuple[str, ...]) -> None:
    scheme = next((s for s in schemes if url.lower().startswith(s)), None)
    rest = url[len(scheme) :] if scheme else ""
    if scheme is None or not rest or rest.startswith("/"):
        raise t.error(key, f"must be a URL starting with {' or '.join(schemes)}, got {url!r}")
    if scheme == "tcp://":
        host, _, port = rest.rstrip("/").rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise t.error(key, f"a tcp probe is tcp://host:port, got {url!r}")
    elif scheme in ("http://", "https://"):
        problem = _http_url_problem(url)
        if problem is not None:
            raise t.error(key, f"{problem}, got {mask_url(url)!r}")


def _expect_status(t: Table) -> tuple[tuple[int, int], ...]:
    raw = t.raw("expect_status", "200-399")
    items = raw if isinstance(raw, list) else str(raw).split(",") if isinstance(raw, str) else [raw]
    ranges = []
    for item in items:
        m = _STATUS_RE.match(str(item)) if isinstance(item, str | int) else None
        if isinstance(item, bool) or m is None:
            raise t.error("expect_status", f'expected codes like "200-399" or 200, got {raw!r}')
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        if not 100 <= low <= high <= 599:
            raise t.error("expect_status", f"{item!r} is not a range of HTTP codes (100-599)")
        ranges.append((low, high))
    if not ranges:
        raise t.error("expect_status", "needs at least one status code")
    return tuple(ranges)


HEADER_NAME = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")  # RFC 9110's token
_FRAMING_HEADERS = ("content-length", "transfer-encoding")  # the agent's, from the body


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as an HTTP header value, or None. A probe with
    such a header could never be sent: every probe would fail (``http``), a false
    down blamed on the provider, so the config is refused instead."""
    if "\r" in value or "\n" in value:
        return "holds a line break"
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        return "holds a control character"
    if not value.isascii():
        return "holds a character that is not ASCII (header values are sent as ASCII)"
    return None


def _headers(t: Table, key: str) -> Mapping[str, str]:
    """``headers`` (name -> value) or ``header_env`` (name -> variable): names HTTP
    allows, values it can carry; the blanks around a value are not part of it
    (RFC 9110 5.5) and are dropped."""
    table = t.table(key)
    if table is None:
        return MappingProxyType({})
    out = {}
    for name, value in table.data.items():
        if not isinstance(value, str):
            raise table.error(name, "must be a string")
        if not HEADER_NAME.fullmatch(name):
            raise table.error(name, "is not an HTTP header name (letters, digits, '-'...)")
        if name.lower() in _FRAMING_HEADERS:
            raise table.error(name, "is set by the agent from the probe's body: leave it out")
        if key == "headers":
            value = value.strip(" \t")
            problem = header_value_problem(value)
            if problem is not None:
                raise table.error(name, problem)
        out[name] = value
    return MappingProxyType(out)


# -- parties -----------------------------------------------------------------


_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+\Z")
_PARTY_KEYS = {
    "customer": ("name", "contact", "email", "apply_credit"),
    "provider": ("name", "contact", "email", "contract_ref"),
}


def _party(root: Table, which: str) -> Party | None:
    """``[customer]`` / ``[provider]``: who claims, from whom, under which contract
    (carried into claim bundles and named by the claim letter)."""
    t = root.table(which)
    if t is None:
        return None
    t.check_keys(_PARTY_KEYS[which])
    email = t.text("email", None)
    if email is not None and not _EMAIL_RE.match(email):
        raise t.error("email", f"{email!r} is not an e-mail address like billing@example.com")
    fields = {k: t.text(k, None) for k in ("contact", "contract_ref", "apply_credit") if t.has(k)}
    for key, value in [("name", t.text("name")), *fields.items()]:
        if len(value) > 200 or any(ord(c) < 32 for c in value):
            raise t.error(key, "must be one line of at most 200 characters")
    return Party(name=t.text("name"), email=email, **fields)


# -- agent -------------------------------------------------------------------


SPOOL_MIN_MINUTES = 10  # below that, a restart of PostgreSQL would already cost minutes


def _agent_name(t: Table) -> str:
    name: str = t.text("name", "agent")
    problem = agent_name_problem(name)
    if problem is not None:
        raise t.error("name", problem)
    return name


def _agent(root: Table, path: Path) -> AgentSettings:
    t = root.table("agent")
    if t is None:
        return AgentSettings()
    m = _Mistakes()  # every mistake of [agent] at once, not only the first
    m.attempt(
        lambda: t.check_keys(
            (
                "name",
                "canary",
                "notifier",
                "proxy",
                "tls_warn_days",
                "spool_max_minutes",
                "metrics",
                "checkpoint",
            )
        ),
        None,
    )
    notifiers: list[Notifier] = []
    none: list[Table] = []
    for table in m.attempt(lambda: t.tables("notifier"), none):
        found = m.attempt(partial(_notifier, table), None)
        if found is not None:
            notifiers.append(found)
    settings = AgentSettings(
        name=m.attempt(lambda: _agent_name(t), "agent"),
        canary=m.attempt(lambda: _canary(t), None),
        notifiers=tuple(notifiers),
        proxy=m.attempt(lambda: _proxy(t), None),
        tls_warn_days=m.attempt(lambda: min(t.integer("tls_warn_days", 14, minimum=0), 3650), 14),
        metrics=m.attempt(lambda: _metrics(t), None),
        spool_max_minutes=m.attempt(
            lambda: t.integer(
                "spool_max_minutes", AgentSettings.spool_max_minutes, minimum=SPOOL_MIN_MINUTES
            ),
            AgentSettings.spool_max_minutes,
        ),
        checkpoint=m.attempt(lambda: _checkpoint(t.table("checkpoint"), path), None),
    )
    m.raise_any()
    return settings


def _canary(t: Table) -> str | None:
    canary: str | None = t.text("canary", None)
    if canary is not None:
        if canary.startswith("dns:"):
            if not canary[4:].strip():
                raise t.error("canary", "dns: needs a host name, e.g. dns:example.com")
        else:
            _check_url(t, "canary", canary, ("tcp://", "dns:"))
    return canary


def _checkpoint(t: Table | None, path: Path) -> Checkpointing | None:
    """``[agent.checkpoint]``: webhook (required), interval (at most 1h), key, timeout;
    every mistake in it at once."""
    if t is None:
        return None
    m = _Mistakes()
    m.attempt(lambda: t.check_keys(("webhook", "interval", "key", "timeout")), None)
    url: str = m.attempt(lambda: _webhook(t), "")
    interval = m.attempt(lambda: _checkpoint_interval(t), timedelta(hours=1))
    timeout = m.attempt(
        lambda: parse_timedelta(t.text("timeout", "10s"), t.where("timeout")),
        timedelta(seconds=10),
    )
    raw_key = m.attempt(lambda: t.text("key", None), None)
    m.raise_any()
    key = None if raw_key is None else (path.parent / Path(raw_key).expanduser()).absolute()
    return Checkpointing(webhook=url, key=key, interval=interval, timeout=timeout)


def _webhook(t: Table) -> str:
    url: str = t.text("webhook").strip()
    _check_url(t, "webhook", url, ("http://", "https://"))
    return url


def _checkpoint_interval(t: Table) -> timedelta:
    interval = parse_timedelta(t.text("interval", "1h"), t.where("interval"))
    if not timedelta(seconds=1) <= interval <= timedelta(hours=1):
        raise t.error("interval", "must be from 1s to 1h (a checkpoint at least hourly)")
    return interval


METRICS_DEFAULT = ("127.0.0.1", 9464)


def _metrics(t: Table) -> tuple[str, int] | None:
    """``metrics = "127.0.0.1:9464"`` (or ``":9464"``, ``true``): where the agent serves
    its Prometheus metrics; loopback unless a host is written out. Off when absent."""
    raw = t.raw("metrics")
    if raw is None or raw is False:
        return None
    if raw is True:
        return METRICS_DEFAULT
    if not isinstance(raw, str):
        raise t.error("metrics", 'must be "HOST:PORT", ":PORT" or true')
    host, colon, port_text = raw.strip().rpartition(":")
    if not colon:
        host, port_text = "", raw.strip()
    host = host.strip("[]") or METRICS_DEFAULT[0]
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise t.error("metrics", f'{raw!r} is not "HOST:PORT" with a port 0-65535')
    return host, int(port_text)


def _notifier(t: Table) -> Notifier:
    t.check_keys(("webhook", "command", "timeout"))
    if t.has("webhook") == t.has("command"):
        raise t.error(None, 'give either webhook = "https://..." or command = ["prog", "arg"]')
    timeout = parse_timedelta(t.text("timeout", "10s"), t.where("timeout"))
    if t.has("webhook"):
        return Notifier(webhook=_webhook(t), timeout=timeout)
    raw = t.raw("command")
    try:
        argv = shlex.split(raw) if isinstance(raw, str) else t.strings("command")
    except ValueError as exc:
        raise t.error("command", f"cannot split into arguments: {exc}") from None
    if not argv:
        raise t.error("command", "must name a program to run")
    return Notifier(command=tuple(argv), timeout=timeout)
