"""Tests that run a Node.js project of this repository (npm packages pinned in its lockfile).

They skip with the reason when Node.js, the project's node_modules (`npm ci` in
its folder) or Chromium are missing, except where they must run: CI (CI=true,
as `.ci/run` runs) or BOOKINGS_REQUIRE_NODE_TESTS=1, where a missing tool fails.
"""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = (os.environ.get("CI", "").lower() == "true"
            or os.environ.get("BOOKINGS_REQUIRE_NODE_TESTS") == "1")


def missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (CI=true or BOOKINGS_REQUIRE_NODE_TESTS=1: this test must run)")
    pytest.skip(reason)


def node_project(folder: Path) -> str:
    """The `node` executable, once `folder` has its packages installed."""
    node = shutil.which("node")
    if node is None:
        missing("Node.js is not installed")
    if not (folder / "node_modules").is_dir():
        missing(f"no node_modules in {folder.relative_to(ROOT)}: run `npm ci` there")
    return node
