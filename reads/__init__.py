"""Read models: what the CLI, the dashboard and claims show, built above the store.

``reads`` asks the store (``store.Store``, whichever backend) for a month's
inputs and lets ``core`` compute from them; it writes nothing and speaks no
SQL. ``reads.reports``: ``month_report``, ``month_reports``,
``overview``, ``case_view``, ``service_of``; ``reads.quarter``: ``quarter_report``;
``reads.performance``: ``period_report``.
"""
