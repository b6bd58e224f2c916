from slawatch.start import run

run()
