"""The packages import only downwards, and no module imports one that imports it back.

Every import counts, also one inside a function: a cycle hidden in a function still ties two
packages together (neither can be read, tested or shipped without the other).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it

REPO = Path(__file__).resolve().parents[1]

# Each package and the packages it may import, bottom layer first. Peers (orchestration and
# superset_config; ingestion and ml_assets) do not import each other. A new package takes its place
# here before anything imports it.
ALLOWED_IMPORTS: dict[str, set[str]] = {
    "pulseops_core": set(),  # settings, secrets, the warehouse URL, the warehouse logins
    "ingestion": set(),
    "ml_assets": set(),
    "orchestration": {"pulseops_core", "ingestion", "ml_assets"},  # the Dagster code location
    "superset_config": {"pulseops_core"},
    "infra": {"pulseops_core"},  # the Lambda imports nothing; the Dagster image's entrypoint the core
    "pulseops_cli": {"pulseops_core", "ingestion", "ml_assets", "orchestration", "superset_config"},
    "bench": {"pulseops_core", "ingestion", "ml_assets", "orchestration", "superset_config", "pulseops_cli"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in ALLOWED_IMPORTS for path in (REPO / package).rglob("*.py")}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported project module, line) for every import statement in the file, at any depth."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            resolved = _project_module(target, path, modules)
            if resolved:
                found.append((resolved, node.lineno))
                break
    return found


def _project_module(target: str, importer: Path, modules: dict[str, Path]) -> str | None:
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    # superset_config.py puts its own folder on sys.path and imports its siblings by their names.
    sibling = importer.parent / f"{parts[0]}.py"
    if parts[0] not in ALLOWED_IMPORTS and parts[0] not in sys.stdlib_module_names and sibling.exists():
        return _module_name(sibling)
    return None


def _graph() -> dict[str, list[tuple[str, int]]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_package_has_a_place_in_the_layers():
    packages = {path.parent.name for path in REPO.glob("*/__init__.py")} - {"tests"}
    assert packages == set(ALLOWED_IMPORTS), "add the package to ALLOWED_IMPORTS in tests/test_layering.py"


def test_the_layers_themselves_have_no_cycle():
    def below(package: str) -> set[str]:
        seen: set[str] = set()
        todo = list(ALLOWED_IMPORTS[package])
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo += ALLOWED_IMPORTS[current]
        return seen

    for package in ALLOWED_IMPORTS:
        assert package not in below(package), f"{package} is allowed to import a package that may import it"


def test_packages_import_only_the_layers_below_them():
    upward = []
    for name, imports in _graph().items():
        package = name.split(".")[0]
        for target, line in imports:
            imported = target.split(".")[0]
            if imported != package and imported not in ALLOWED_IMPORTS[package]:
                upward.append(
                    f"{_modules()[name].relative_to(REPO)}:{line} imports {target} "
                    f"({package} may import {sorted(ALLOWED_IMPORTS[package]) or 'no other package'})"
                )
    assert not upward, "\n".join(upward)


def test_no_module_imports_one_that_imports_it_back():
    graph = {name: {target for target, _ in imports} for name, imports in _graph().items()}
    cycles = [
        component
        for component in _strongly_connected(graph)
        if len(component) > 1 or next(iter(component)) in graph[next(iter(component))]
    ]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph is a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def test_the_checker_sees_an_upward_import_inside_a_function(tmp_path):
    """The rule is not vacuous: an import hidden in a function body is found and named."""
    modules = _modules()
    fake = REPO / "orchestration" / "definitions.py"
    source = "def later():\n    from pulseops_cli.main import main\n"
    found = [target for target, _ in _imports("orchestration.definitions", _write(tmp_path, fake, source), modules)]
    assert found == ["pulseops_cli.main"]
    assert "pulseops_cli" not in ALLOWED_IMPORTS["orchestration"]
    assert _strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}, {"c"}]


def _write(tmp_path: Path, like: Path, source: str) -> Path:
    path = tmp_path / like.name
    path.write_text(source)
    return path


@pytest.mark.parametrize(
    ("where", "module"),
    [
        (
            "pyproject [project.scripts] pulseops",
            tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]["pulseops"],
        ),
        (
            "pyproject [tool.dagster]",
            tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"],
        ),
        (
            "workspace.yaml",
            yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"][0]["python_module"]["module_name"],
        ),
    ],
)
def test_entry_points_name_modules_that_exist(where, module):
    name, _, function = module.partition(":")
    path = _modules().get(name)
    assert path is not None, f"{where} names {name}, which is not a module of the project"
    if function:
        assert f"def {function}(" in path.read_text(), f"{where}: {name} has no {function}()"
