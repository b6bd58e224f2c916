"""Histories from other monitors, turned into slawatch minute records.

Each importer reads one foreign format and yields batches of
``store.rows.MinuteRow`` for ``Store.import_minutes`` (one transaction: a bad
record anywhere raises ``core.errors.InputError`` and nothing is kept). Every
importer folds its observations into minutes with the agent's own rule,
``core.verdict.minute_status``, so a minute means the same whoever measured it.

- ``kuma``: an Uptime Kuma SQLite database (1.x and 2.x), opened read-only.
- ``prometheus``: ``query_range`` answers (``probe_success`` of the blackbox
  exporter), from a live server or a saved file.
- ``progress``: a one-line progress meter on a terminal's stderr.
"""
