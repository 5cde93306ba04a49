"""``python -m console COMMAND``: the console's services for scripts and CI/CD pipelines.

The acting user signs in with the same credentials file, the same failed-login limit, the same role checks and
the same audit records as in the browser: user from ``--user``, password from ``CONSOLE_PASSWORD`` or
``--password-file``. Exit status 0 on success, 1 with the page's message on stderr otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from console.domain.access import Actor
from console.domain.audit import AuditFilter
from console.errors import AuthenticationFailed, ConsoleError
from console.services import auth
from console.services.audit import list_audit, record_as_dict
from console.services.context import ConsoleContext, build_context

Command = Callable[[argparse.Namespace, ConsoleContext, Actor], int]


def _signed_in(args: argparse.Namespace, context: ConsoleContext) -> Actor:
    if not args.user:
        raise AuthenticationFailed("Give the acting user with --user.")
    if args.password_file:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").rstrip("\n")
        except OSError as err:
            raise AuthenticationFailed(f"Cannot read the password file {args.password_file}: {err.strerror}") from err
    else:
        password = os.environ.get("CONSOLE_PASSWORD", "")
        if not password:
            raise AuthenticationFailed("Give the password in CONSOLE_PASSWORD or with --password-file.")
    return auth.login(context.credentials, context.audit, username=args.user, password=password, clock=context.clock)


def _audit(args: argparse.Namespace, context: ConsoleContext, actor: Actor) -> int:
    records = list_audit(context.audit, actor, AuditFilter(limit=args.limit))
    for record in records:
        if args.json:
            print(json.dumps(record_as_dict(record), default=str))
        else:
            print(f"{record.at:%Y-%m-%d %H:%M:%S}  {record.username:<12} {record.action:<14} "
                  f"{record.outcome.value:<9} {record.target}  {record.reason}")
    return 0


def _check_config(args: argparse.Namespace, context: ConsoleContext, actor: Actor | None) -> int:
    settings = context.settings
    context.audit.ping()
    print(f"settings are valid ({settings.environment}); {len(context.credentials.users())} users; "
          f"audit store {context.audit.address} answers")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    login = argparse.ArgumentParser(add_help=False)
    login.add_argument("--user", help="the acting user, from the credentials file")
    login.add_argument("--password-file", help="a file with the password (else CONSOLE_PASSWORD)")

    audit = commands.add_parser("audit", parents=[login], help="print audit records, newest first")
    audit.add_argument("--limit", type=int, default=50, help="at most this many records (default 50)")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(handler=_audit, needs_login=True)

    check = commands.add_parser("check-config", help="check the settings and credentials, then exit")
    check.set_defaults(handler=_check_config, needs_login=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        context = build_context()
        actor = _signed_in(args, context) if args.needs_login else None
        return args.handler(args, context, actor)
    except ConsoleError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
