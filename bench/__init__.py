"""carepair's benchmarks: durable appends, their ceilings, the relay, consumers and latency.

Run `make bench` (or `.venv/bin/python -m bench --help`); docs/performance.md explains each
scenario and holds the latest numbers.
"""
