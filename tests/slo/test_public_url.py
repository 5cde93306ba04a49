"""CONSOLE_PUBLIC_URL, the console's address that alerts link to: read with the other settings, checked with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.config import load_settings, public_url_problem
from console.errors import SettingsError
from tests.helpers import REPOSITORY_ROOT, demo_environment


def test_the_public_url_is_read_without_its_trailing_slash(tmp_path: Path) -> None:
    settings = load_settings(demo_environment(tmp_path, CONSOLE_PUBLIC_URL="https://mlops-console.apps.example.com/"))
    assert settings.public_url == "https://mlops-console.apps.example.com"
    assert load_settings(demo_environment(tmp_path)).public_url is None
    behind_a_path = load_settings(demo_environment(tmp_path, CONSOLE_PUBLIC_URL="https://tools.example.com/console"))
    assert behind_a_path.public_url == "https://tools.example.com/console"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("mlops-console.apps.example.com", "got 'mlops-console.apps.example.com'"),
        ("ftp://mlops-console.apps.example.com", "got 'ftp://mlops-console.apps.example.com'"),
        ("https://", "got 'https://'"),
        ("https://console.example.com/?tab=slos", "without a query or fragment"),
        ("https://console.example.com:eighty", "does not parse"),
        ("https://console.example.com/slo page", "without spaces or line breaks"),
    ],
)
def test_a_bad_public_url_is_a_clear_settings_problem(tmp_path: Path, value: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(demo_environment(tmp_path, CONSOLE_PUBLIC_URL=value))
    (problem,) = caught.value.problems
    assert problem.startswith(
        "CONSOLE_PUBLIC_URL must be an absolute http(s) URL such as https://mlops-console.apps.example.com"
    )
    assert words in problem
    assert problem == public_url_problem(value)


def test_check_config_lists_it_with_every_other_problem(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CONSOLE_", "MLFLOW_", "KUBECONFIG", "PROMETHEUS_"))}
    env |= demo_environment(tmp_path, CONSOLE_PUBLIC_URL="console.example.com", CONSOLE_MAX_REPLICAS="0")
    result = subprocess.run(
        [sys.executable, "-m", "console", "check-config"], env=env, cwd=REPOSITORY_ROOT,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "CONSOLE_PUBLIC_URL must be an absolute http(s) URL" in result.stderr
    assert "CONSOLE_MAX_REPLICAS must be between 1 and 1000" in result.stderr
    assert "Traceback" not in result.stderr
