"""The documentation (README.md and docs/*.md) agrees with the code it describes.

- every ```graphql block validates against the served schema;
- the settings table of docs/operations.md names exactly the settings of app.config.Settings;
- docs/errors.md names every error code the code defines, and no other;
- every relative link points at a file (and heading) that exists, and every Markdown file
  a page names is in the repository;
- the markers that .ci/run and the benchmark's table rely on are in place.

No database: the whole file runs in a few seconds.
"""

import ast
import importlib
import os
import pkgutil
import re
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import graphql
import pytest
from pydantic import AliasChoices

import app
from app.api.schema import schema
from app.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
OPERATIONS = DOCS / "operations.md"
ERRORS = DOCS / "errors.md"
PERFORMANCE = DOCS / "performance.md"

FENCE = re.compile(r"^[ \t]*```([\w-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
# A variable the server reads: BOOKINGS_... or DATABASE_...
VARIABLE = re.compile(r"\b(?:BOOKINGS|DATABASE)_[A-Z0-9_]*[A-Z0-9]\b")
CODE = re.compile(r"[A-Z][A-Z0-9_]{2,}")


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


# ---- GraphQL examples -------------------------------------------------------------------


def graphql_blocks(page: Path) -> list[str]:
    return [body for language, body in FENCE.findall(page.read_text()) if language == "graphql"]


BLOCKS = [(page, index, block) for page in PAGES
          for index, block in enumerate(graphql_blocks(page))]


def test_the_readme_has_graphql_examples():
    assert len(graphql_blocks(README)) >= 4


@pytest.mark.parametrize(("page", "index", "document"), BLOCKS,
                         ids=[f"{name(page)}-block{index}" for page, index, _ in BLOCKS])
def test_every_graphql_block_is_valid_against_the_served_schema(page, index, document):
    errors = graphql.validate(schema._schema, graphql.parse(document))
    assert errors == [], f"{name(page)}, graphql block {index}: {[e.message for e in errors]}"


# ---- settings ---------------------------------------------------------------------------


def setting_names() -> set[str]:
    """The environment variables app.config.Settings reads (their validation aliases)."""
    names = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        else:
            pytest.fail(f"Settings.{field_name} has no environment variable name to document")
    return names


def section(page: Path, heading: str) -> str:
    """The text under a `## heading`, up to the next heading of that level."""
    text = page.read_text()
    match = re.search(rf"^## {re.escape(heading)}[ \t]*\n(.*?)(?=^## |\Z)", text,
                      re.MULTILINE | re.DOTALL)
    assert match, f"{name(page)} has no '## {heading}' section"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the Markdown tables in `text`, split into cells."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or re.fullmatch(r"\|[\s:|-]+\|?", line.strip()):
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[1:] if rows else rows  # the first row is the header


def test_the_settings_table_lists_every_setting_once():
    rows = table_rows(section(OPERATIONS, "Settings"))
    listed = [variable for row in rows for variable in re.findall(r"`([A-Z][A-Z0-9_]+)`", row[0])]
    duplicated = sorted({variable for variable in listed if listed.count(variable) > 1})
    assert not duplicated, f"listed more than once in docs/operations.md: {duplicated}"
    missing = sorted(setting_names() - set(listed))
    assert not missing, f"settings missing from the table of docs/operations.md: {missing}"


def test_the_settings_table_names_no_variable_that_is_not_a_setting():
    named = set(VARIABLE.findall(section(OPERATIONS, "Settings")))
    unknown = sorted(named - setting_names())
    assert not unknown, f"docs/operations.md's settings table names non-settings: {unknown}"


# Variables the documentation may name that are not server settings.
NOT_SETTINGS = {"BOOKINGS_REQUIRE_NODE_TESTS"}  # the test suite's, README "Development"


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_variable_the_docs_name_exists(page):
    unknown = sorted(set(VARIABLE.findall(page.read_text())) - setting_names() - NOT_SETTINGS)
    assert not unknown, f"{name(page)} names variables the server does not read: {unknown}"


# ---- error codes ------------------------------------------------------------------------


def _subclasses(cls: type) -> Iterator[type]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def _codes_in_source(path: Path) -> set[str]:
    """Codes written into answers by hand: `{"code": "X"}` or `{"code": NAME}` (NAME a
    module-level constant), and fallbacks such as `....get("code") or "X"`."""
    tree = ast.parse(path.read_text())
    constants = {
        target.id: node.value.value
        for node in tree.body if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets if isinstance(target, ast.Name)
    }

    def text(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    def reads_code(node: ast.AST) -> bool:
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get" and bool(node.args) and text(node.args[0]) == "code")

    found: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            found.update(text(value) for key, value in zip(node.keys, node.values, strict=True)
                         if key is not None and text(key) == "code")
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and reads_code(
                node.values[0]):
            found.update(text(value) for value in node.values[1:])
    return {code for code in found if code and CODE.fullmatch(code)}


def defined_error_codes() -> set[str]:
    """Every code the server can report, gathered from the code, not from a list:
    the `code` of every AppError class (all of app imported, so every subclass exists),
    the members of the code enums of app.errors and app.api.http, the codes written as literals, and the
    `...ErrorCode` enums of the exported schema."""
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)
    from app import errors
    from app.api import http

    codes = {str(cls.code) for cls in [errors.AppError, *_subclasses(errors.AppError)]}
    for value in [*vars(errors).values(), *vars(http).values()]:
        if isinstance(value, type) and issubclass(value, Enum) and value.__name__.endswith("Code"):
            codes.update(str(member.value) for member in value)
    for path in (ROOT / "app").rglob("*.py"):
        codes |= _codes_in_source(path)
    exported = graphql.build_schema((ROOT / "schema.graphql").read_text())
    for type_ in exported.type_map.values():
        if isinstance(type_, graphql.GraphQLEnumType) and type_.name.endswith("ErrorCode"):
            codes.update(type_.values)
    return codes


def documented_error_codes() -> set[str]:
    """The codes in the first column of docs/errors.md's table."""
    rows = table_rows(section(ERRORS, "Every code"))
    return {code for row in rows for code in re.findall(r"`([A-Z][A-Z0-9_]+)`", row[0])}


def test_the_error_codes_are_found_in_the_code():
    # If these are not found, the search above is broken, not the documentation.
    assert {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "VALIDATION_FAILED",
            "INTERNAL_SERVER_ERROR"} <= defined_error_codes()


def test_docs_errors_names_every_error_code():
    missing = sorted(defined_error_codes() - documented_error_codes())
    assert not missing, f"error codes missing from the table of docs/errors.md: {missing}"


def test_docs_errors_names_no_code_the_server_does_not_have():
    unknown = sorted(documented_error_codes() - defined_error_codes())
    assert not unknown, f"docs/errors.md documents codes the code does not define: {unknown}"


# ---- links ------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(page: Path) -> list[str]:
    return LINK.findall(without_code_blocks(page.read_text()))


def is_external(target: str) -> bool:
    return bool(re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target))


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes for a page's headings."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", without_code_blocks(page.read_text()),
                              re.MULTILINE):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


LINKS = [(page, target) for page in PAGES for target in links(page)
         if not is_external(target)]


def test_the_docs_have_relative_links():
    assert any(not target.startswith("#") for _, target in LINKS)


@pytest.mark.parametrize(("page", "target"), [(p, t) for p, t in LINKS if not t.startswith("#")],
                         ids=lambda value: name(value) if isinstance(value, Path) else value)
def test_every_relative_link_points_at_a_file(page, target):
    path = target.split("#", 1)[0]
    assert (page.parent / path).exists(), f"{name(page)} links to {target}: no such file"


@pytest.mark.parametrize(("page", "target"), [(p, t) for p, t in LINKS if "#" in t],
                         ids=lambda value: name(value) if isinstance(value, Path) else value)
def test_every_anchor_names_a_heading(page, target):
    path, anchor = target.split("#", 1)
    linked = (page.parent / path) if path else page
    if linked.suffix != ".md" or not linked.exists():
        pytest.skip("not a Markdown page of this repository")
    assert anchor in anchors(linked), f"{name(page)} links to {target}: no such heading"


def test_the_readme_lists_every_document():
    listed = {(README.parent / target.split("#", 1)[0]).resolve()
              for target in LINK.findall(section(README, "Documentation"))
              if not is_external(target)}
    missing = [name(page) for page in PAGES[1:] if page.resolve() not in listed]
    assert not missing, f"README's Documentation section does not link: {missing}"


# ---- markers other tools read ---------------------------------------------------------------


def test_the_readme_keeps_the_ci_test_command():
    # .ci/run runs the first line of the fenced block after this marker.
    text = README.read_text()
    marker = text.index("<!-- test-command")
    block = re.match(r"[^\n]*\n```bash\n([^\n]+)\n```", text[marker:])
    assert block, "README.md: the test-command marker must be followed by a bash block"
    assert "pytest" in block.group(1)


def test_the_benchmark_table_follows_its_marker():
    text = PERFORMANCE.read_text()
    marker = text.index("<!-- bench-table:")
    following = text[marker:].splitlines()[1:3]
    assert following[0].startswith("| scenario |") and following[1].startswith("|---")


def markdown_files() -> set[str]:
    """The repository's own Markdown files, by path from the root and by file name."""
    found = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [sub for sub in subfolders if sub not in (".git", ".venv", "node_modules")]
        for file in files:
            if file.endswith(".md"):
                found |= {file, (Path(folder) / file).relative_to(ROOT).as_posix()}
    return found


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_markdown_file_a_page_names_is_in_the_repository(page):
    # A reader has this repository and nothing else: no page may send them to a document
    # that is not in it, linked or not.
    named = set(re.findall(r"[\w./-]*\w\.md\b", page.read_text()))
    missing = sorted(found for found in named - markdown_files()
                     if not (page.parent / found).is_file())  # a path relative to the page
    assert not missing, f"{name(page)} names documents the repository does not have: {missing}"
