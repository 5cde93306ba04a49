"""``python -m console slo rules``: write the SLOs' recording and alerting rules.

Needs no login and no backend: it reads the SLO directory and writes one file (or stdout). It refuses to write
anything while a spec has a problem, because applying a partial rule set would silently drop the alerts of the
SLOs left out, and without the console's public address, because every alert links to its SLO's page there.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from console.config import public_url_problem
from console.domain.slo_rules import DEFAULT_RESOURCE_NAME, RULE_FORMATS
from console.errors import ConsoleError
from console.services.slo import load_slo_directory, write_rules

DEFAULT_SLO_DIRECTORY = Path("examples/slos")


def add_slo_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``slo rules`` to the console's command line.

    The handler has the ``(args, context, actor)`` shape of the other commands but uses neither: it is marked
    ``needs_login=False`` and ``needs_context=False``.
    """
    slo = subparsers.add_parser("slo", help="service level objectives")
    slo_commands = slo.add_subparsers(dest="slo_command", required=True, metavar="SLO_COMMAND")
    rules = slo_commands.add_parser(
        "rules", help="write the recording and alerting rules of every SLO (PrometheusRule or rules file)"
    )
    rules.add_argument(
        "--format",
        choices=RULE_FORMATS,
        default="prometheusrule",
        help="prometheusrule (monitoring.coreos.com/v1, default) or rules (a plain Prometheus rules file)",
    )
    rules.add_argument(
        "--slo-dir",
        type=Path,
        default=None,
        help=f"directory of OpenSLO specs (default: CONSOLE_SLO_DIR, else {DEFAULT_SLO_DIRECTORY})",
    )
    rules.add_argument(
        "--console-url",
        default=None,
        help="the console's public address that alerts link to (default: CONSOLE_PUBLIC_URL), "
        "e.g. https://mlops-console.apps.example.com",
    )
    rules.add_argument("--output", type=Path, default=None, help="file to write (default: standard output)")
    rules.add_argument("--name", default=DEFAULT_RESOURCE_NAME, help="PrometheusRule name")
    rules.add_argument("--namespace", default=None, help="PrometheusRule namespace (default: none written)")
    rules.set_defaults(handler=slo_rules_command, needs_login=False, needs_context=False)


def slo_rules_command(args: argparse.Namespace, context: Any = None, actor: Any = None) -> int:
    """Write the rules; exit status 0, or 1 with every spec problem on stderr."""
    directory = _slo_directory(args, context)
    console_url = _console_url(args, context)
    if not console_url:
        print(
            "error: the alerts link to each SLO's page in the console: set CONSOLE_PUBLIC_URL or pass --console-url "
            "(e.g. https://mlops-console.apps.example.com)",
            file=sys.stderr,
        )
        return 1
    if problem := public_url_problem(console_url):
        print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        catalog = load_slo_directory(directory)
        catalog.raise_for_problems()
        if not catalog.objectives:
            print(f"error: no SLO spec in {directory}", file=sys.stderr)
            return 1
        text = write_rules(
            catalog.objectives, console_url=console_url, format=args.format, name=args.name, namespace=args.namespace
        )
    except ConsoleError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as err:
            print(f"error: cannot write {args.output}: {err.strerror}", file=sys.stderr)
            return 1
        print(f"wrote {len(catalog.objectives)} SLOs to {args.output}", file=sys.stderr)
    return 0


def _slo_directory(args: argparse.Namespace, context: Any) -> Path:
    if args.slo_dir is not None:
        return args.slo_dir
    settings = getattr(context, "settings", None)
    configured = getattr(settings, "slo_directory", None)
    if configured is not None:
        return Path(configured)
    from_environment = os.environ.get("CONSOLE_SLO_DIR")
    return Path(from_environment) if from_environment else DEFAULT_SLO_DIRECTORY


def _console_url(args: argparse.Namespace, context: Any) -> str:
    if args.console_url is not None:
        return args.console_url.strip()
    configured = getattr(getattr(context, "settings", None), "public_url", None)
    if configured:
        return configured
    return os.environ.get("CONSOLE_PUBLIC_URL", "").strip()
