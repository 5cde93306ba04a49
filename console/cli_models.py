"""``python -m console promote`` and ``python -m console model-rollback``: the Models page's actions for CI/CD.

The same services, gate, roles and audit record as the page. A failed gate exits 1 with the gate's explanation,
so a pipeline applies the same rule as the page. Kubernetes is used when it is configured (KUBECONFIG or
CONSOLE_KUBE_IN_CLUSTER); otherwise only the registry changes, and the output says so.
"""

from __future__ import annotations

import argparse
import sys

from console.domain.access import Actor
from console.services.context import ConsoleContext
from console.services.promotion import (
    DEFAULT_ALIAS,
    ModelActionResponse,
    ModelRollbackRequest,
    PromoteRequest,
    PromotionGateFailed,
)


def login_options() -> argparse.ArgumentParser:
    """The parent parser with ``--user`` and ``--password-file``, as the other commands have."""
    login = argparse.ArgumentParser(add_help=False)
    login.add_argument("--user", help="the acting user, from the credentials file")
    login.add_argument("--password-file", help="a file with the password (else CONSOLE_PASSWORD)")
    return login


def add_model_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``promote`` and ``model-rollback`` to the console's command line."""
    login = login_options()
    promote = subparsers.add_parser(
        "promote", parents=[login],
        help="move a model alias to a version after the gate, and roll out the deployments that follow it",
    )
    promote.add_argument("model", metavar="MODEL", help="registered model name")
    promote.add_argument("version", metavar="VERSION", help="the version to promote")
    promote.add_argument("--alias", default=DEFAULT_ALIAS, help=f"the alias to move (default {DEFAULT_ALIAS})")
    promote.add_argument("--reason", required=True)
    promote.add_argument("--override-gate", action="store_true",
                         help="admin only: promote although the gate fails (the reason is recorded)")
    promote.set_defaults(handler=promote_command, needs_login=True)

    rollback = subparsers.add_parser(
        "model-rollback", parents=[login],
        help="move a model alias back to its previous holder and roll the following deployments back",
    )
    rollback.add_argument("model", metavar="MODEL", help="registered model name")
    rollback.add_argument("--alias", default=DEFAULT_ALIAS, help=f"the alias to move back (default {DEFAULT_ALIAS})")
    rollback.add_argument("--reason", required=True)
    rollback.set_defaults(handler=model_rollback_command, needs_login=True)


def _print(result: ModelActionResponse) -> None:
    print(result.message)
    if result.gate is not None:
        print(f"gate: {result.gate.summary}" + (" (overridden)" if result.overridden else ""))
    for change in result.deployments:
        print(f"deployment {change.description}")
    for namespace, name in result.rollout_targets:
        print(f"rollout: {namespace}/{name} (follow with: kubectl rollout status -n {namespace} deployment/{name})")
    if not result.kubernetes_connected:
        print("Kubernetes is not connected: no deployment was checked or updated.")


def promote_command(args: argparse.Namespace, context: ConsoleContext, actor: Actor) -> int:
    """Exit 0 when promoted; 1 with the gate explanation when the gate fails (and on any other error)."""
    try:
        result = context.promotions().promote(PromoteRequest(
            actor=actor, model=args.model, version=args.version, alias=args.alias, reason=args.reason,
            override_gate=args.override_gate,
        ))
    except PromotionGateFailed as err:
        print(f"error: {err.message}\ngate: {err.gate.summary}", file=sys.stderr)
        return 1
    _print(result)
    return 0


def model_rollback_command(args: argparse.Namespace, context: ConsoleContext, actor: Actor) -> int:
    """Exit 0 when the alias and its deployments are back on the previous holder; 1 on any error."""
    result = context.promotions().roll_back(ModelRollbackRequest(
        actor=actor, model=args.model, alias=args.alias, reason=args.reason,
    ))
    _print(result)
    return 0
