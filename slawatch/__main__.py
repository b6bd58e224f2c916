from slawatch.cli import run

run()
