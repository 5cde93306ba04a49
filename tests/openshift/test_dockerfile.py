"""The Dockerfile, read statically (no container engine here): OpenShift-ready, production-only, no secrets."""

from __future__ import annotations

import fnmatch
import re
import shlex

import pytest

from .conftest import ROOT

SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|COOKIE_KEY|API_KEY|CREDENTIAL)", re.IGNORECASE)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined, current = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        joined.append(current)
        current = ""
    out = []
    for text in joined:
        keyword, _, rest = text.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def of(kind: str) -> list[str]:
    return [args for keyword, args in instructions() if keyword == kind]


def env_values() -> dict[str, str]:
    values = {}
    for args in of("ENV"):
        for token in shlex.split(args):
            name, _, value = token.partition("=")
            values[name] = value
    return values


def test_base_image_is_python_311_suited_to_openshift() -> None:
    [base] = of("FROM")
    image = base.split()[0]
    assert image.startswith(("python:3.11-slim", "registry.access.redhat.com/ubi9/python-311")), image


def test_runs_as_a_non_root_numeric_user() -> None:
    users = of("USER")
    assert users, "USER is required"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, "a numeric UID, so that runAsNonRoot can verify it"
    keywords = [k for k, _ in instructions()]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k in ("RUN", "COPY", "ADD"))


def test_group_zero_can_write_what_the_process_writes() -> None:
    """OpenShift runs the image under an arbitrary UID whose group is 0."""
    env = env_values()
    run = " ".join(of("RUN"))
    assert re.search(rf"chgrp -R 0 [^&]*{re.escape(env['HOME'])}", run)
    assert re.search(rf"chmod -R g=u [^&]*{re.escape(env['HOME'])}", run)
    assert env["XDG_CACHE_HOME"].startswith(env["HOME"] + "/")


def test_no_url_in_add_and_no_remote_fetch() -> None:
    for args in of("ADD"):
        assert not re.search(r"\b(https?|ftp|git)://", args), f"ADD {args}"
    run = " ".join(of("RUN"))
    assert not re.search(r"\b(curl|wget)\b", run)


def test_production_dependencies_only() -> None:
    text = " ".join(args for _, args in instructions())
    assert "requirements-dev" not in text
    pip = [args for args in of("RUN") if "pip install" in args]
    assert pip and all("-r requirements.txt" in args and "-c constraints.txt" in args for args in pip)
    for args in of("COPY"):
        sources = shlex.split(args)[:-1]
        assert not any(s.startswith(("tests", "bench", ".sandbox", "examples", "requirements-dev")) for s in sources), args


def test_streamlit_is_headless_with_xsrf_and_without_usage_statistics() -> None:
    env = env_values()
    assert env["STREAMLIT_SERVER_HEADLESS"] == "true"
    assert env["STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION"] == "true"
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert env["STREAMLIT_SERVER_PORT"] == "8501"
    assert of("EXPOSE") == ["8501"]
    [cmd] = of("CMD")
    assert "streamlit" in cmd and "server.py" in cmd


def test_health_check_on_stcore_health() -> None:
    [check] = of("HEALTHCHECK")
    assert check.split()[0].startswith("--") and " CMD " in f" {check} "
    assert "8501/_stcore/health" in check


def test_no_secret_is_baked_in() -> None:
    for keyword in ("ENV", "ARG", "LABEL"):
        for args in of(keyword):
            for token in shlex.split(args):
                name = token.partition("=")[0]
                assert not SECRET_NAME.search(name), f"{keyword} {name}: secrets arrive at run time"
    for args in of("COPY") + of("ADD"):
        assert not re.search(r"secret|\.env\b|auth\.ya?ml|kubeconfig", args, re.IGNORECASE), args


# --- .dockerignore -----------------------------------------------------------------------------------------


def ignored(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matches a path or any of its parents."""
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()]
    result = False
    for pattern in patterns:
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern.startswith("**/"):
            candidates += ["/".join(parts[i:]) for i in range(len(parts))]
            pattern = pattern[3:]
        if any(fnmatch.fnmatchcase(c, pattern) and c.count("/") == pattern.count("/") for c in candidates):
            result = not negated
    return result


@pytest.mark.parametrize("path", [
    "app.py", "server.py", "pages/1_Overview.py", "console/config.py", "console/adapters/kubernetes.py",
    ".streamlit/config.toml", "requirements.txt", "constraints.txt",
])
def test_what_the_image_copies_is_in_the_build_context(path: str) -> None:
    assert not ignored(path)


@pytest.mark.parametrize("path", [
    ".git/config", ".venv/bin/python", ".sandbox/kubeconfig", ".sandbox/env", "tests/conftest.py",
    "requirements-dev.txt", ".streamlit/secrets.toml", "console/__pycache__/config.cpython-311.pyc",
    "openshift/secret.example.yaml", "bench/run.py", "docs/openshift.md", ".env",
    "console/sandbox/__init__.py", "console/sandbox/kube/server.py", "console/sandbox/mlflow_seed.py",
])
def test_the_rest_stays_out_of_the_build_context(path: str) -> None:
    assert ignored(path)


def test_the_image_needs_nothing_of_the_sandbox() -> None:
    """The sandbox stays out of the image, so nothing the image runs may import it or what only it needs."""
    import ast

    for path in [ROOT / "app.py", *(ROOT / "pages").rglob("*.py"), *(ROOT / "console").rglob("*.py")]:
        if "sandbox" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                assert not name.startswith(("console.sandbox", "sklearn")), f"{path.relative_to(ROOT)} imports {name}"
    requirements = (ROOT / "requirements.txt").read_text().lower()
    assert "scikit-learn" not in requirements, "scikit-learn is the sandbox's, not the console's"
