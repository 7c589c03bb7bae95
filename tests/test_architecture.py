"""The layout's rules, checked by machine (docs/DESIGN.md, "Layout" and rules 1-2).

- Dependencies run one way, kernel <- models <- domains <- live <- web <- runtime, with no
  cycle between packages: import-linter's contracts in ``pyproject.toml``.
- A domain reaches another only through its ``service`` (or ``schemas``, or ``auth.deps`` for
  the caller); nothing outside a domain reads its ``repository``.
- No function-level import of the package (the old way of dodging a cycle).
- Tenant filters only through ``kernel.tenancy``; commits only in ``kernel.db.uow``; the
  process context only through ``kernel.context.context_of``.
- No module over 400 lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

from flowpilot.kernel.settings import markdown_table

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "flowpilot"
DOMAINS = {
    "auth",
    "accounts",
    "ai_sessions",
    "handoffs",
    "events",
    "notifications",
    "analytics",
    "assistant",
}
# What one domain may import of another.
DOMAIN_PUBLIC = {"service", "schemas", "deps"}
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_import_linter_contracts_are_kept() -> None:
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("flowpilot", cache_dir=None)


def _split(module: str) -> tuple[str, str]:
    parts = module.split(".")
    return (parts[1] if len(parts) > 1 else ""), (parts[2] if len(parts) > 2 else "")


def test_domains_reach_each_other_only_through_their_service(graph: grimp.ImportGraph) -> None:
    wrong = []
    for importer in sorted(graph.modules):
        importer_pkg, _ = _split(importer)
        for imported in graph.find_modules_directly_imported_by(importer):
            pkg, module = _split(imported)
            if pkg not in DOMAINS or pkg == importer_pkg:
                continue
            if (importer_pkg in DOMAINS and module not in DOMAIN_PUBLIC) or module == "repository":
                wrong.append(f"{importer} -> {imported}")
    assert wrong == []


def test_no_function_level_imports_of_the_package() -> None:
    found = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                if any(name.startswith("flowpilot") for name in names):
                    found.append(f"{_rel(path)}:{node.lineno}")
    assert found == []


def test_no_module_is_over_400_lines() -> None:
    long = {_rel(p): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


# ``X.account_id == <a value>`` (a tenant filter written by hand), but not a join between two
# tables' columns (``Account.id == Delivery.account_id``).
_HAND_FILTER = re.compile(
    r"account_id\s*==\s*+(?![A-Z_][A-Za-z_]*\.)|(?<![A-Za-z_.])Account\.id\s*==\s*+(?![A-Z])"
)


def test_tenant_filters_only_through_the_tenancy_helpers() -> None:
    found = [
        f"{_rel(path)}:{number}: {line.strip()}"
        for path in _modules()
        if "kernel" not in path.relative_to(PACKAGE).parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _HAND_FILTER.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == []


def _calls(path: Path, attribute: str) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        f"{_rel(path)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == attribute
    ]


def test_commits_only_in_the_unit_of_work() -> None:
    uow = PACKAGE / "kernel" / "db" / "uow.py"
    found = [c for p in _modules() if p != uow for c in _calls(p, "commit")]
    assert found == []


def test_the_process_context_only_through_context_of() -> None:
    allowed = {PACKAGE / "kernel" / "context.py", PACKAGE / "runtime" / "app.py"}
    found = [
        f"{_rel(path)}:{number}"
        for path in _modules()
        if path not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "app.state" in line
    ]
    assert found == []


def test_readme_configuration_table_is_generated_from_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    table = re.search(r"<!-- settings:start[^>]*-->\n(.*?)<!-- settings:end -->", readme, re.S)
    assert table is not None, "README.md lost its settings markers"
    assert table.group(1) == markdown_table(), "regenerate: python -m flowpilot.kernel.settings"
