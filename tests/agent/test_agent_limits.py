"""``ca_file`` checks: a file shared by many services is read once, every service named;
a file without a certificate is called that (an ``ssl.SSLError`` is an ``OSError``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

import agent.limits
from core.configfile import load_config
from tests import configs
from tests.conftest import write_config


def test_a_shared_ca_file_is_read_once_and_every_service_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(good))
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("hello\n")
    services = [
        configs.service(f"s{i}", "c", "1.00", probe=configs.probe("https://x.test/", ca_file=ca))
        for i, ca in enumerate([good, bad, good, bad, bad, str(tmp_path / "missing.pem")])
    ]
    text = configs.toml(contracts=[configs.contract("c")], services=services)
    config = load_config(write_config(tmp_path, text))
    reads: list[str] = []
    real = agent.limits._ca_file_problem

    def counting(path: str) -> str | None:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(agent.limits, "_ca_file_problem", counting)
    errors = agent.limits.probe_errors(config)
    assert sorted(reads) == sorted({str(good), str(bad), str(tmp_path / "missing.pem")})
    assert [e.where.rsplit(": ", 1)[1] for e in errors] == [
        'service "s1".probe.ca_file',
        'service "s3".probe.ca_file',
        'service "s4".probe.ca_file',
        'service "s5".probe.ca_file',
    ]
    assert "holds no PEM certificate" in str(errors[0]) and "no such file" in str(errors[3])
    with pytest.raises(type(errors[0])):
        agent.limits.check_probes(config)


def test_the_prober_says_a_file_without_a_certificate_holds_none(tmp_path: Path) -> None:
    import ssl

    from agent.probe import load_ca_file
    from core.errors import ConfigError

    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("hello\n")
    with pytest.raises(ConfigError, match="no PEM certificate in this file"):
        load_ca_file(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), bad)
