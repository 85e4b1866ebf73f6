"""schema.graphql is the contract: exported from the code, and never broken by accident.

`schema.released.graphql` is the schema of the last release, the one frontends in the
field are built against. A change that would break one of them (a field removed, a type
changed, an argument made required) fails here until that file is edited on purpose, in
the same commit, where a reviewer sees it.
"""

import subprocess
from pathlib import Path

import pytest
from graphql import BreakingChange, build_schema, find_breaking_changes

from app.api.schema import schema

ROOT = Path(__file__).resolve().parents[2]
RELEASED = ROOT / "schema.released.graphql"


def test_checked_in_schema_matches_the_code():
    exported = schema.as_str() + "\n"
    assert (ROOT / "schema.graphql").read_text() == exported, (
        "schema.graphql is stale: run `bookings export-schema`"
    )


def describe(changes: list[BreakingChange]) -> str:
    return "\n".join(f"  {change.type.name}: {change.description}" for change in changes)


def test_no_change_since_the_last_release_breaks_a_client():
    breaking = find_breaking_changes(build_schema(RELEASED.read_text()), schema._schema)
    assert breaking == [], (
        f"These changes break clients of the released schema:\n{describe(breaking)}\n"
        "Keep the old fields (deprecate them instead), or, for an intended break, edit "
        "schema.released.graphql in the same commit and say so in the release notes.")


@pytest.mark.parametrize("edit, expected", [
    (('  """Never negative."""\n  balance: Int!\n', ""), "FIELD_REMOVED"),
    (("  balance: Int!\n", "  balance: String!\n"), "FIELD_CHANGED_KIND"),
    (("enum AppointmentState {\n", "enum AppointmentState {\n  ARCHIVED\n"), None),
])
def test_the_breaking_change_check_sees_a_break(edit, expected):
    """The check above is only as good as graphql-core's comparison: it must see a break."""
    released = RELEASED.read_text()
    old, new = edit
    assert old in released
    changed = build_schema(released.replace(old, new, 1))
    found = {change.type.name for change in find_breaking_changes(build_schema(released), changed)}
    assert (expected in found) if expected else found == set()


def _project_files() -> list[Path]:
    """The files of the repository: those git tracks, or every file when there is no git."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=False)
    if listed.returncode == 0:
        return [ROOT / name for name in listed.stdout.decode().split("\0") if name]
    skipped = {".git", ".venv", "node_modules", "artifacts", "__pycache__"}
    return [path for path in ROOT.rglob("*")
            if path.is_file() and not skipped & set(path.relative_to(ROOT).parts)]


def test_no_file_of_the_project_reaches_outside_the_repository():
    """A clone stands alone: nothing reads or links the folder beside it that a clone lacks."""
    outside = "../" + "shared"  # spelled in two pieces so that this file does not match
    hits = []
    for path in _project_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        hits += [f"{path.relative_to(ROOT)}:{number}"
                 for number, line in enumerate(text.splitlines(), 1) if outside in line]
    assert hits == []
