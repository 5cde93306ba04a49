"""``python -m console.sandbox demo|up|down``: run the local world, with or without the console."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from console.config import DEMO_LOGINS
from console.sandbox.processes import stop_pids, wait_for_http
from console.sandbox.world import Sandbox, start_console


_stopping = threading.Event()


def _run_until_signalled(sandbox: Sandbox, watched=None) -> int:  # type: ignore[no-untyped-def]
    code = 0
    while not _stopping.wait(0.5):
        if watched is not None and watched.poll() is not None:
            print(f"the console exited with status {watched.returncode}; see {sandbox.root / 'console.log'}")
            code = 1
            break
    print("\nstopping the sandbox ...", flush=True)
    sandbox.stop()
    print("stopped.")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.sandbox")
    parser.add_argument("command", choices=["demo", "up", "down"], help="demo: sandbox and console; up: sandbox only")
    parser.add_argument("--port", type=int, default=8501, help="the console's port (demo)")
    parser.add_argument("--reset", action="store_true", help="rebuild .sandbox/ from scratch")
    parser.add_argument("--root", type=Path, default=None, help="where the sandbox lives (default .sandbox/)")
    args = parser.parse_args(argv)
    # From the start, so a Ctrl-C during start-up still stops what was started.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: _stopping.set())

    sandbox = Sandbox(root=args.root.resolve()) if args.root else Sandbox()
    if args.command == "down":
        stopped = stop_pids(sandbox.paths.pids)
        print(f"stopped {len(stopped)} process(es)")
        return 0

    started = time.monotonic()
    if sandbox.prepare(reset=args.reset):
        print(f"built {sandbox.root}")
    else:
        print(f"reusing {sandbox.root}")
    sandbox.start()
    print(f"sandbox settings: source {sandbox.paths.env_file}")
    if args.command == "up":
        if sandbox.kube_server is not None:
            print(f"Kubernetes API: {sandbox.kube_server.url}")
        print(f"sandbox is up after {time.monotonic() - started:.1f} s; Ctrl-C stops it")
        return _run_until_signalled(sandbox)

    console = start_console(sandbox, port=args.port)
    url = f"http://127.0.0.1:{args.port}"
    if not wait_for_http(f"{url}/_stcore/health", timeout_seconds=90, process=console):
        print(f"the console did not start; see {sandbox.root / 'console.log'}", file=sys.stderr)
        sandbox.stop()
        return 1
    print()
    print(f"  console:  {url}   (up after {time.monotonic() - started:.1f} s)")
    if sandbox.kube_server is not None:
        print(f"  Kubernetes API: {sandbox.kube_server.url}  (kubectl --kubeconfig {sandbox.paths.kubeconfig} get deploy -A)")
    for name, value in sorted(sandbox.settings_environment().items()):
        if name in ("KUBECONFIG", "MLFLOW_TRACKING_URI", "MLFLOW_UI_URL", "PROMETHEUS_URL"):
            print(f"  {name}: {value}")
    print("  logins:   " + ", ".join(f"{user} / {password}" for user, password in DEMO_LOGINS.items()))
    print("\nCtrl-C stops everything.", flush=True)
    return _run_until_signalled(sandbox, console)


if __name__ == "__main__":
    sys.exit(main())
