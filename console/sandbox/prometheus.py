"""A real Prometheus on a loopback port, with history backfilled from OpenMetrics text.

Used by the tests and the local sandbox: ``start_prometheus`` runs the Debian ``prometheus`` binary with its own
configuration and data directory, optionally preloaded with TSDB blocks made by
``backfill_openmetrics`` (``promtool tsdb create-blocks-from openmetrics``) and with rule files to evaluate.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import yaml

from console.sandbox.processes import free_port, wait_for_http

PROMETHEUS_BINARY = "prometheus"
PROMTOOL_BINARY = "promtool"


class SandboxPrometheusError(RuntimeError):
    """The local Prometheus could not be prepared or started."""


def find_binary(name: str) -> str | None:
    """Path of ``prometheus`` or ``promtool``, or None when the Debian package is not installed."""
    return shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)


@dataclass
class PrometheusHandle:
    """A running Prometheus; ``stop()`` ends it (and only it)."""

    url: str
    port: int
    data_dir: Path
    config_file: Path
    log_file: Path
    process: subprocess.Popen = field(repr=False)

    def stop(self, *, timeout_seconds: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout_seconds)

    def __enter__(self) -> PrometheusHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def write_config(
    path: Path,
    *,
    rule_files: Sequence[Path] = (),
    evaluation_interval: timedelta = timedelta(seconds=30),
    scrape_configs: Sequence[Mapping] = (),
) -> Path:
    config = {
        "global": {
            "scrape_interval": "15s",
            "evaluation_interval": f"{int(evaluation_interval.total_seconds())}s",
        },
        "rule_files": [str(Path(rule_file).resolve()) for rule_file in rule_files],
        "scrape_configs": [dict(scrape_config) for scrape_config in scrape_configs],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def start_prometheus(
    workdir: Path,
    *,
    rule_files: Iterable[Path] = (),
    blocks_dir: Path | None = None,
    evaluation_interval: timedelta = timedelta(seconds=30),
    scrape_configs: Sequence[Mapping] = (),
    retention: str = "45d",
    port: int | None = None,
    ready_timeout_seconds: float = 30.0,
) -> PrometheusHandle:
    """Start Prometheus in ``workdir`` (config, ``data/`` and log live there) and wait until it is ready.

    ``blocks_dir`` holds TSDB blocks (e.g. from :func:`backfill_openmetrics`); they are copied into the data
    directory before start, which is when Prometheus loads blocks. The retention is long because Prometheus
    deletes blocks older than it at start, and backfilled history is old by nature.
    """
    binary = find_binary(PROMETHEUS_BINARY)
    if binary is None:
        raise SandboxPrometheusError("the prometheus binary is not installed (Debian package 'prometheus')")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
    if blocks_dir is not None:
        for block in Path(blocks_dir).iterdir():
            if block.is_dir() and (block / "meta.json").exists():
                shutil.copytree(block, data_dir / block.name, dirs_exist_ok=True)
    config_file = write_config(
        workdir / "prometheus.yml",
        rule_files=list(rule_files),
        evaluation_interval=evaluation_interval,
        scrape_configs=scrape_configs,
    )
    last_error = ""
    # A free port can be taken between probing and binding; try a few.
    for _attempt in range(3):
        chosen = port or free_port()
        log_file = workdir / "prometheus.log"
        with open(log_file, "ab") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={data_dir}",
                    f"--storage.tsdb.retention.time={retention}",
                    f"--web.listen-address=127.0.0.1:{chosen}",
                    "--web.enable-lifecycle",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=workdir,
            )
        handle = PrometheusHandle(
            url=f"http://127.0.0.1:{chosen}",
            port=chosen,
            data_dir=data_dir,
            config_file=config_file,
            log_file=log_file,
            process=process,
        )
        if wait_for_http(f"{handle.url}/-/ready", timeout_seconds=ready_timeout_seconds, process=handle.process):
            return handle
        handle.stop()
        last_error = handle.log()[-2000:]
        if port is not None:
            break
    raise SandboxPrometheusError(f"Prometheus did not become ready; its log ends with:\n{last_error}")


def backfill_openmetrics(openmetrics: str | Path, output_dir: Path) -> Path:
    """Turn OpenMetrics text (or a file of it, ending with ``# EOF``) into TSDB blocks in ``output_dir``.

    Timestamps are in seconds and each series' samples in time order; keep them within the retention.
    """
    promtool = find_binary(PROMTOOL_BINARY)
    if promtool is None:
        raise SandboxPrometheusError("the promtool binary is not installed (Debian package 'prometheus')")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(openmetrics, Path):
        source = openmetrics
    else:
        source = output_dir.parent / f"{output_dir.name}.om.txt"
        source.write_text(openmetrics, encoding="utf-8")
    completed = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(source), str(output_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0:
        raise SandboxPrometheusError(f"promtool backfill failed: {completed.stderr.strip() or completed.stdout}")
    return output_dir


def check_rules(rule_file: Path) -> subprocess.CompletedProcess:
    """``promtool check rules`` on a plain rules file; the caller reads ``returncode`` and the output."""
    promtool = find_binary(PROMTOOL_BINARY)
    if promtool is None:
        raise SandboxPrometheusError("the promtool binary is not installed (Debian package 'prometheus')")
    return subprocess.run(
        [promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, timeout=60
    )


Sample = tuple[str, Mapping[str, str], float, float]  # sample name, labels, unix seconds, value


def openmetrics_text(families: Iterable[tuple[str, str, Iterable[Sample]]]) -> str:
    """OpenMetrics text for ``promtool tsdb create-blocks-from openmetrics``.

    ``families`` are ``(family name, type, samples)``, e.g. ``("http_requests", "counter", [("http_requests_total",
    {"code": "200"}, 1716200000.0, 42.0), ...])``. Each family's samples are written together and in time order
    (what the backfill needs), and the text ends with ``# EOF``.
    """
    lines: list[str] = []
    for name, metric_type, samples in families:
        lines.append(f"# TYPE {name} {metric_type}")
        for sample_name, labels, seconds, value in sorted(samples, key=lambda sample: sample[2]):
            label_text = ",".join(f'{key}="{_escape(label)}"' for key, label in labels.items())
            selector = f"{sample_name}{{{label_text}}}" if label_text else sample_name
            lines.append(f"{selector} {value!r} {seconds:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
