"""The layers of DESIGN.md, checked on the source: arrows go down only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPOSITORY_ROOT

SDKS = {"mlflow", "kubernetes", "prometheus_api_client", "requests", "sqlalchemy"}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def files(folder: str) -> list[Path]:
    return sorted((REPOSITORY_ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", [*files("pages"), REPOSITORY_ROOT / "app.py"], ids=lambda p: p.name)
def test_pages_import_no_sdk(path: Path) -> None:
    roots = {module.split(".")[0] for module in imported_modules(path)}
    assert not roots & SDKS, f"{path.name} imports {roots & SDKS}: go through console.services"
    assert not any(m.startswith("console.adapters") for m in imported_modules(path))


def test_adapters_do_not_import_streamlit() -> None:
    for path in files("console/adapters"):
        assert "streamlit" not in {m.split(".")[0] for m in imported_modules(path)}, path


def test_domain_imports_nothing_of_ours_but_itself_and_errors() -> None:
    for path in files("console/domain"):
        ours = {m for m in imported_modules(path) if m.startswith("console")}
        assert all(m.startswith("console.domain") or m == "console.errors" for m in ours), (path, ours)
        assert not {m.split(".")[0] for m in imported_modules(path)} & (SDKS | {"streamlit"}), path


def test_services_do_not_import_streamlit() -> None:
    for path in files("console/services"):
        assert "streamlit" not in {m.split(".")[0] for m in imported_modules(path)}, path


STANDARD_LIBRARY = frozenset(__import__("sys").stdlib_module_names)


@pytest.mark.parametrize("path", [*files("pages"), REPOSITORY_ROOT / "app.py"], ids=lambda p: p.name)
def test_pages_import_only_the_ui_and_the_services(path: Path) -> None:
    """A page is widgets and layout over ``console.ui`` and ``console.services``; nothing else of ours."""
    for module in imported_modules(path):
        root = module.split(".")[0]
        if root in STANDARD_LIBRARY or root == "streamlit" or module == "__future__":
            continue
        assert module.startswith(("console.ui", "console.services")), f"{path.name} imports {module}"


def test_ui_reaches_no_adapter() -> None:
    """The UI gets every backend through the context and the use cases, never an adapter of its own."""
    for path in files("console/ui"):
        adapters = {m for m in imported_modules(path) if m.startswith("console.adapters")}
        assert not adapters, f"{path.relative_to(REPOSITORY_ROOT)} imports {adapters}"


def test_only_the_ui_context_builds_the_console_context() -> None:
    """One composition root: ``build_context`` and the ``connect_*`` functions are called in one UI module."""
    for path in files("console/ui"):
        source = path.read_text(encoding="utf-8")
        for name in ("build_context(", "connect_kubernetes(", "connect_mlflow(", "connect_prometheus("):
            if name in source:
                assert path.name == "context.py" and name == "build_context(", f"{path.name} calls {name}"


def test_ui_and_pages_reach_the_audit_store_only_through_services() -> None:
    """The UI hands the audit store to a use case, which checks the role; it never reads or writes it itself."""
    import re

    direct = re.compile(r"\.audit\.\w+\s*\(")
    for path in [*files("console/ui"), *files("pages"), REPOSITORY_ROOT / "app.py"]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            assert not direct.search(line), f"{path.relative_to(REPOSITORY_ROOT)}:{number} calls the audit store"
