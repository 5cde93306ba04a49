"""``python -m console COMMAND``: the console's services for scripts and CI/CD pipelines.

The acting user signs in with the same credentials file, the same failed-login limit, the same role checks and
the same audit records as in the browser: user from ``--user``, password from ``CONSOLE_PASSWORD`` or
``--password-file``. Exit status 0 on success, 1 with the page's message on stderr otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from console.adapters.kubernetes import KubernetesCluster
from console.cli_models import add_model_commands, login_options
from console.cli_slo import add_slo_commands
from console.domain.access import Actor, Permission
from console.domain.audit import AuditFilter
from console.errors import AuthenticationFailed, ConsoleError, InvalidInput
from console.services import auth, deployments
from console.services.audit import list_audit, record_as_dict, refuse_attempt, verify_audit
from console.services.context import ConsoleContext, build_context
from console.services.promotion import ModelRollbackRequest


def _signed_in(args: argparse.Namespace, context: ConsoleContext) -> Actor:
    if not args.user:
        raise AuthenticationFailed("Give the acting user with --user.")
    if args.password_file:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").rstrip("\n")
        except OSError as err:
            raise AuthenticationFailed(f"Cannot read the password file {args.password_file}: {err.strerror}") from err
        except UnicodeDecodeError as err:
            raise AuthenticationFailed(f"The password file {args.password_file} is not UTF-8 text.") from err
    else:
        password = os.environ.get("CONSOLE_PASSWORD", "")
        if not password:
            raise AuthenticationFailed("Give the password in CONSOLE_PASSWORD or with --password-file.")
    return auth.login(context.credentials, context.audit, username=args.user, password=password, clock=context.clock)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters escaped, so a record cannot rewrite the terminal it is printed on."""
    return _CONTROL.sub(lambda match: match.group(0).encode("unicode_escape").decode("ascii"), text)


def _audit(args: argparse.Namespace, context: ConsoleContext, actor: Actor) -> int:
    if args.check == "verify":
        return _verify(context, actor)
    records = list_audit(context.audit, actor, AuditFilter(limit=args.limit))
    for record in records:
        if args.json:
            print(json.dumps(record_as_dict(record), default=str))
        else:
            print(printable(f"{record.at:%Y-%m-%d %H:%M:%S}  {record.username:<12} {record.action:<14} "
                            f"{record.outcome.value:<9} {record.target}  {record.reason}"))
    return 0


def _verify(context: ConsoleContext, actor: Actor) -> int:
    report = verify_audit(context.audit, actor)
    if report.intact:
        before = f"; {report.unchained} older records predate the chain" if report.unchained else ""
        print(f"audit log intact: {report.checked} records checked{before}")
        return 0
    print(f"audit log BROKEN: {len(report.problems)} problem(s) in {report.checked} chained records", file=sys.stderr)
    for problem in report.problems:
        print(f"- {problem}", file=sys.stderr)
    return 1


def _target(args: argparse.Namespace, context: ConsoleContext, actor: Actor,
            action: str) -> tuple[KubernetesCluster, str, str]:
    """The cluster and NAMESPACE/DEPLOYMENT of a deployment action; a malformed target, or a cluster that cannot
    be reached, is refused with the attempt's own audit record."""
    namespace, _, name = args.deployment.partition("/")

    def refuse(error: ConsoleError) -> NoReturn:
        refuse_attempt(context.audit, actor, Permission.OPERATE_DEPLOYMENT, action=action, target=args.deployment,
                       reason=args.reason, clock=context.clock, error=error)

    if not namespace or not name or "/" in name:
        refuse(InvalidInput(f"Give the deployment as NAMESPACE/DEPLOYMENT, got {args.deployment!r}."))
    try:
        cluster = context.kubernetes()
    except ConsoleError as err:
        refuse(err)
    return cluster, namespace, name


def _status(args: argparse.Namespace, context: ConsoleContext, actor: Actor) -> int:
    cluster = context.kubernetes()
    if args.namespace:
        cluster.require_namespace(args.namespace)
    rows = [row for row in deployments.list_deployments(cluster, actor)
            if not args.namespace or row.deployment.namespace == args.namespace]
    print(f"{'NAMESPACE':<14} {'NAME':<24} {'READY':<7} {'UP-TO-DATE':<10} {'AVAILABLE':<9} {'MODEL':<22} "
          f"{'VERSION':<7} HEALTH")
    for row in rows:
        d = row.deployment
        health = d.health.value + (f" ({d.health_reason})" if d.health_reason else "")
        print(f"{d.namespace:<14} {d.name:<24} {f'{d.ready}/{d.desired}':<7} {d.updated:<10} {d.available:<9} "
              f"{d.model or '-':<22} {d.model_version or '-':<7} {health}")
    return 0


def _scale(args: argparse.Namespace, context: ConsoleContext, actor: Actor) -> int:
    cluster, namespace, name = _target(args, context, actor, "scale")
    result = deployments.scale(
        cluster, context.audit, actor, namespace=namespace, name=name,
        replicas=args.replicas, seen_resource_version="", reason=args.reason,
        max_replicas=context.settings.max_replicas, clock=context.clock,
    )
    print(result.message)
    return 0


def _restart(args: argparse.Namespace, context: ConsoleContext, actor: Actor) -> int:
    cluster, namespace, name = _target(args, context, actor, "restart")
    result = deployments.restart(cluster, context.audit, actor, namespace=namespace,
                                 name=name, seen_resource_version="", reason=args.reason, clock=context.clock)
    print(result.message)
    return 0


def _rollback(args: argparse.Namespace, context: ConsoleContext, actor: Actor) -> int:
    cluster, namespace, name = _target(args, context, actor, "rollback")
    if args.move_alias:
        plan = deployments.plan_rollback(cluster, actor, namespace=namespace, name=name, to_revision=args.to_revision)
        if plan.model_change is not None and not plan.already_current:
            return _model_rollback_with(context, actor, plan.model_change, args.reason)
    try:
        result = deployments.rollback(cluster, context.audit, actor, namespace=namespace, name=name,
                                      to_revision=args.to_revision, seen_resource_version="", reason=args.reason,
                                      clock=context.clock)
    except deployments.ServedModelWouldChange as refused:
        print(f"error: {refused.message}\nTo move the alias with it: add --move-alias (a model rollback).",
              file=sys.stderr)
        return 1
    print(result.message)
    return 0


def _model_rollback_with(context: ConsoleContext, actor: Actor, change: deployments.ServedModelChange,
                         reason: str) -> int:
    """The rollback the operator asked for, as a model rollback: the alias moves to the version it serves."""
    response = context.promotions().roll_back(ModelRollbackRequest(
        actor=actor, model=change.model, alias=change.alias, reason=reason, to_version=int(change.serving_after),
        revisions={change.deployment: change.to_revision}))
    print(response.message)
    return 0


def _check_config(args: argparse.Namespace, context: ConsoleContext, actor: Actor | None) -> int:
    settings = context.settings
    context.audit.ping()
    print(f"settings are valid ({settings.environment}); {len(context.credentials.users())} users; "
          f"audit store {context.audit.address} answers")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: every command with its options."""
    parser = argparse.ArgumentParser(prog="python -m console", description="The console's services for scripts and CI/CD pipelines.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    login = login_options()

    audit = commands.add_parser("audit", parents=[login],
                                help="print audit records, newest first; 'audit verify' checks the hash chain")
    audit.add_argument("check", nargs="?", choices=["verify"], help="verify: check every record's hash (exit 1 "
                       "on any gap or edit)")
    audit.add_argument("--limit", type=int, default=50, help="at most this many records (default 50)")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(handler=_audit, needs_login=True)

    status = commands.add_parser("status", parents=[login], help="deployments and their health")
    status.add_argument("namespace", nargs="?", help="only this namespace")
    status.set_defaults(handler=_status, needs_login=True)

    scale = commands.add_parser("scale", parents=[login], help="scale a deployment")
    scale.add_argument("deployment", metavar="NAMESPACE/DEPLOYMENT")
    scale.add_argument("replicas", metavar="REPLICAS", help="a whole number from 0 to the maximum")
    scale.add_argument("--reason", required=True)
    scale.set_defaults(handler=_scale, needs_login=True)

    restart = commands.add_parser("restart", parents=[login], help="restart a deployment's pods")
    restart.add_argument("deployment", metavar="NAMESPACE/DEPLOYMENT")
    restart.add_argument("--reason", required=True)
    restart.set_defaults(handler=_restart, needs_login=True)

    rollback = commands.add_parser("rollback", parents=[login], help="roll a deployment back (kubectl rollout undo)")
    rollback.add_argument("deployment", metavar="NAMESPACE/DEPLOYMENT")
    rollback.add_argument("--to-revision", type=int, default=None, help="default: the previous revision")
    rollback.add_argument("--move-alias", action="store_true",
                          help="when the revision serves another model version than the alias it follows holds, "
                               "move the alias with it (a model rollback of every follower)")
    rollback.add_argument("--reason", required=True)
    rollback.set_defaults(handler=_rollback, needs_login=True)

    add_model_commands(commands)
    add_slo_commands(commands)

    check = commands.add_parser("check-config", help="check the settings and credentials, then exit")
    check.set_defaults(handler=_check_config, needs_login=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status (0 ok, 1 with the message on stderr, 2 bad usage)."""
    args = build_parser().parse_args(argv)
    try:
        context = build_context() if getattr(args, "needs_context", True) else None
        actor = _signed_in(args, context) if args.needs_login else None
        return args.handler(args, context, actor)
    except ConsoleError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
