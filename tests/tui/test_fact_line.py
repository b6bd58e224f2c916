"""The title bar's facts (tui.components.fact_line): whole facts per line, none cut."""

from __future__ import annotations

from rich.text import Text

from tui.components.fact_line import pack

PROBLEM = (
    "⚠ postgresql://db.internal:5432/slawatch?sslmode=verify-full&sslrootcert=/etc/slawatch/"
    "db-ca.pem: cannot reach the database: connection failed: connection to server at "
    '"10.0.0.5", port 5432 failed: Connection refused'
)


def test_a_fact_wider_than_the_screen_is_wrapped_not_cut() -> None:
    """Found with PostgreSQL stopped under a running dashboard: the title bar's problem
    (the database's URL first) ran off the right edge, so at 80 columns the fleet's URL
    filled the line and 'cannot reach the database' was never on screen."""
    parts = [Text("slawatch"), Text("● 4 up"), Text("Mon 04:02:09 UTC"), Text(PROBLEM)]
    for width in (80, 160):
        lines = pack(parts, width)
        assert all(line.cell_len <= width for line in lines), width
        said = " ".join(line.plain.strip() for line in lines)
        assert PROBLEM.replace(" ", "") in said.replace(" ", "")
        assert lines[0].plain == "slawatch  ·  ● 4 up  ·  Mon 04:02:09 UTC"
    # A word longer than the line itself is cut into pieces rather than run off.
    long = Text("x" * 50)
    assert [t.plain for t in pack([long], 20)] == ["x" * 20, "x" * 20, "x" * 10]
    # Styles stay on the pieces.
    red = Text("a " * 30, style="red")
    assert all(t.style == "red" and t.cell_len <= 20 for t in pack([red], 20))
