"""``slo rules``: writes the rules without a login, and refuses a partial rule set or alerts that lead nowhere."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from console.cli_slo import add_slo_commands

from .conftest import AVAILABILITY_SPEC, EXAMPLES, as_yaml, spec_with

CONSOLE = "https://mlops-console.apps.example.com"


@pytest.fixture(autouse=True)
def no_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONSOLE_PUBLIC_URL", raising=False)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m console")
    add_slo_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    assert args.needs_login is False and args.needs_context is False
    return args.handler(args, None, None)


def test_writes_a_prometheus_rule(tmp_path: Path) -> None:
    output = tmp_path / "rules.yaml"
    assert run(["slo", "rules", "--slo-dir", str(EXAMPLES), "--console-url", CONSOLE, "--output", str(output)]) == 0
    document = yaml.safe_load(output.read_text())
    assert document["kind"] == "PrometheusRule"
    assert len(document["spec"]["groups"]) == 6
    alert = next(rule for rule in document["spec"]["groups"][0]["rules"] if "alert" in rule)
    assert alert["annotations"]["console_url"] == f"{CONSOLE}/slos?slo=diabetes-regressor-availability"


def test_writes_a_plain_rules_file_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["slo", "rules", "--format", "rules", "--slo-dir", str(EXAMPLES), "--console-url", CONSOLE]) == 0
    assert list(yaml.safe_load(capsys.readouterr().out)) == ["groups"]


def test_slo_directory_from_the_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CONSOLE_SLO_DIR", str(EXAMPLES))
    monkeypatch.setenv("CONSOLE_PUBLIC_URL", CONSOLE + "/")
    assert run(["slo", "rules"]) == 0
    out = capsys.readouterr().out
    assert "slo-iris-classifier-availability" in out
    assert f"console_url: {CONSOLE}/slos?slo=iris-classifier-availability\n" in out


def test_refuses_to_write_while_a_spec_is_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = tmp_path / "slos"
    specs.mkdir()
    (specs / "good.yaml").write_text(as_yaml(AVAILABILITY_SPEC))
    (specs / "bad.yaml").write_text(as_yaml(spec_with(AVAILABILITY_SPEC, **{"metadata.name": "b", "spec.objectives": []})))
    output = tmp_path / "rules.yaml"
    assert run(["slo", "rules", "--slo-dir", str(specs), "--console-url", CONSOLE, "--output", str(output)]) == 1
    assert not output.exists()
    assert "bad.yaml: spec.objectives: missing" in capsys.readouterr().err


def test_refuses_to_write_alerts_without_the_consoles_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "rules.yaml"
    assert run(["slo", "rules", "--slo-dir", str(EXAMPLES), "--output", str(output)]) == 1
    assert not output.exists()
    assert "set CONSOLE_PUBLIC_URL or pass --console-url" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["mlops-console.apps.example.com", "https://console/?next=1", "ftp://console"])
def test_refuses_a_malformed_console_address(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "rules.yaml"
    assert run(["slo", "rules", "--slo-dir", str(EXAMPLES), "--console-url", url, "--output", str(output)]) == 1
    assert not output.exists()
    assert "CONSOLE_PUBLIC_URL must be an absolute http(s) URL such as https://mlops-console.apps.example.com" in (
        capsys.readouterr().err
    )
