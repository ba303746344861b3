"""Latency and capacity benchmark (not part of the default test run).

    uv run python -m tests.benchmark.run --calls 1,4,8,16 --turns 3 --latency zero,realistic

See ``run.py`` for what is measured and ``RESULTS.md`` for the numbers.
"""
