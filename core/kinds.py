"""How error messages name the type of a value a user wrote (config TOML or bundle JSON)."""

from __future__ import annotations


def kind_of(value: object, *, table: str = "a table") -> str:
    """``"an integer"``, ``"a string"``...: the type of a parsed TOML or JSON value.

    ``table`` is what a mapping is called where it was written: ``"a table"`` in
    TOML, ``"an object"`` in JSON.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: True is an int too
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return table
    return type(value).__name__  # a TOML date or time
