"""No import cycles in app/: not between modules, not between packages.

The graph is read from the source with `ast`, imports inside functions included (a cycle
broken by a function-level import is still a cycle). Imports under `if TYPE_CHECKING:` are
left out: they never run, and Strawberry's lazy type references need them.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in APP.rglob("*.py")}


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except what sits under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (child for orelse in node.orelse for child in _walk(orelse))
            continue
        yield node
        yield from _runtime_nodes(node)


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    yield from _runtime_nodes(node)


def imports_of(name: str) -> set[str]:
    """The app modules `name` imports when it runs."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            # `from app.x import y`: y may be a module of its own.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in MODULES and target != name}
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def group(name: str) -> str:
    """The package a module belongs to: app.api, app.credits, ... (app/x.py is its own)."""
    parts = name.split(".")
    return ".".join(parts[:2])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_module_imports_itself_through_others():
    assert cycles(GRAPH) == []


def test_no_package_imports_itself_through_others():
    packages: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        packages.setdefault(group(name), set()).update(
            group(target) for target in targets if group(target) != group(name))
    assert cycles(packages) == []


@pytest.mark.parametrize("source, expected", [
    ("from app import db\n", {"app.db"}),
    ("def f():\n    from app.credits import service\n", {"app.credits.service"}),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app import db\n", set()),
])
def test_the_graph_sees_module_and_function_level_imports(tmp_path, monkeypatch, source, expected):
    """The checks above are only as good as the graph: it must see what runs, and only that."""
    probe = APP / "_import_graph_probe.py"
    monkeypatch.setitem(MODULES, "app._import_graph_probe", probe)
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source if self == probe
                        else Path.read_bytes(self).decode())
    assert imports_of("app._import_graph_probe") == expected
