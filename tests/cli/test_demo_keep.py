"""``slawatch demo --keep DIR`` never writes over what DIR already holds."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunCli


def test_keep_refuses_a_folder_that_already_holds_files(tmp_path: Path, run_cli: RunCli) -> None:
    """Found trying the demo: `slawatch demo --keep DIR` wrote its config.toml over the
    one in DIR and seeded its made-up month into the slawatch.db there, so `--keep .`
    in a real setup's folder replaced its config and mixed fake outages and cases into
    its evidence. A folder with anything in it is refused before anything is written."""
    (tmp_path / "config.toml").write_text("# mine\n", encoding="utf-8")
    done = run_cli("demo", "--keep", tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("slawatch: --keep: ") and done.stderr.count("\n") == 1
    assert "is not empty" in done.stderr
    assert (tmp_path / "config.toml").read_text(encoding="utf-8") == "# mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
    file = tmp_path / "a-file"
    file.write_text("x", encoding="utf-8")
    refused = run_cli("demo", "--keep", file)
    assert refused.returncode == 2 and "--keep: " in refused.stderr
