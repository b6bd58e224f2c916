"""Command groups of the slawatch command line, one module each (see slawatch.cli)."""
