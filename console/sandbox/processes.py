"""Child processes of the sandbox: liveness, stopping by PID, waiting until a server answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether a process runs; a child that exited but was not reaped yet (a zombie) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_pids(pid_file: Path) -> list[int]:
    if not pid_file.exists():
        return []
    return [int(line.split()[0]) for line in pid_file.read_text().splitlines() if line.strip()]


def stop_pids(pid_file: Path, *, timeout_seconds: float = 10.0) -> list[int]:
    """Terminate the processes listed in a PID file (then kill the stubborn ones); return those stopped."""
    alive = [pid for pid in read_pids(pid_file) if pid != os.getpid() and pid_alive(pid)]
    for pid in alive:
        try:
            os.killpg(pid, signal.SIGTERM)  # children run in their own process group
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in alive):
        time.sleep(0.1)
    for pid in alive:
        if pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    pid_file.unlink(missing_ok=True)
    return alive


def wait_for_http(url: str, *, timeout_seconds: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll a URL until it answers 200; False on timeout or when ``process`` exits first."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
