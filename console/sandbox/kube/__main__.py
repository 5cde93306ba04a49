"""Run the sandbox API server: ``python -m console.sandbox.kube --port 0 --kubeconfig PATH [--demo]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime, timezone

from .demo import seed_demo_world
from .server import KubeApiServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.sandbox.kube", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for this server here")
    parser.add_argument("--sandbox-dir", help="write kubeconfig there and set KUBECONFIG and KUBE_API_URL in its env file")
    parser.add_argument("--namespace", default="ml-serving", help="the kubeconfig context's namespace")
    parser.add_argument("--demo", action="store_true", help="seed the demo namespaces and serving deployments")
    args = parser.parse_args(argv)

    server = KubeApiServer(host=args.host, port=args.port).start()
    if args.demo:
        seed_demo_world(server, now=datetime.now(timezone.utc))
    if args.kubeconfig:
        server.write_kubeconfig(args.kubeconfig, namespace=args.namespace)
    if args.sandbox_dir:
        server.write_sandbox_files(args.sandbox_dir, namespace=args.namespace)
    print(server.url, flush=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
