"""Fixtures of the webhook tests: the job tests' empty queue, for the tests that run workers."""

from tests.jobs.conftest import empty_queue  # noqa: F401 - a fixture, used by name
