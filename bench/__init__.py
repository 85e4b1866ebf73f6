"""Load benchmarks of the GraphQL server against a raw Starlette + asyncpg baseline.

Run `python -m bench` (or `python -m bench --quick` for a few-second smoke run);
see bench/__main__.py.
"""
