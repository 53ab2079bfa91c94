"""Benchmarks: ``make bench`` (python -m bench) prints figures; tests run them at a tiny N."""
