"""Deployments in the browser: the viewer cannot act by any path; the operator scales, restarts and rolls back.

After every action the test reads the Deployment back through the official Kubernetes client and the audit
record from the audit store: the page saying "done" is not enough.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Page, expect

from console.adapters.audit_store import AuditStore
from console.domain.audit import AuditFilter, AuditRecord, Outcome
from console.domain.workload_patches import LAST_ACTION_ANNOTATION
from console.domain.workloads import CHANGE_CAUSE, MODEL_VERSION_ANNOTATION, RESTARTED_AT, REVISION
from tests.e2e.ui import (
    ACTION_BUTTONS,
    assert_clean,
    dialog,
    open_deployment,
    open_page,
    select_option,
    sign_in,
    success_message,
    wait_until_idle,
)
from tests.e2e.world import LOGINS, ConsoleWorld
from tests.helpers import wait_for

NAMESPACE, NAME = "ml-serving", "iris-classifier"
TARGET = f"{NAMESPACE}/{NAME}"
REASON_LABEL = "Reason (recorded with the action)"


def latest_record(audit: AuditStore, *, action: str, username: str) -> AuditRecord | None:
    records = audit.query(AuditFilter(action=action, username=username, target_contains=TARGET, limit=1))
    return records[0] if records else None


def rollout_finished(kube_apps, namespace: str = NAMESPACE, name: str = NAME) -> bool:  # type: ignore[no-untyped-def]
    deployment = kube_apps.read_namespaced_deployment(name, namespace)
    status, wanted = deployment.status, deployment.spec.replicas
    return bool(
        (status.observed_generation or 0) >= deployment.metadata.generation
        and (status.updated_replicas or 0) == wanted
        and (status.replicas or 0) == wanted
        and (status.available_replicas or 0) == wanted
    )


def confirm(page: Page, button: str, reason: str, fill: Callable[[Any], None] | None = None) -> None:
    """Open an action's dialog from the detail, fill it in and confirm."""
    wait_until_idle(page)
    page.get_by_role("button", name=button, exact=True).click()
    box = dialog(page)
    if fill is not None:
        fill(box)
    box.get_by_label(REASON_LABEL).fill(reason)
    box.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def wait_for_the_rollout_on_the_page(page: Page) -> None:
    """The progress refreshes by itself and, once the rollout is done, the page says so (replacing the
    action's own message, which may therefore be gone already)."""
    expect(success_message(page, f"{TARGET}: successfully rolled out")).to_be_visible(timeout=60_000)


# ------------------------------------------------------------------------------------------------ viewer


def test_the_viewer_sees_no_action_buttons_and_no_audit_page(page: Page) -> None:
    sign_in(page, "viewer", LOGINS["viewer"])
    for namespace, name in (("ml-serving", "iris-classifier"), ("ml-serving", "wine-quality")):
        open_deployment(page, namespace, name)
        expect(page.get_by_role("tab", name="Revision history")).to_be_visible()
        for label in ACTION_BUTTONS:
            expect(page.get_by_role("button", name=label, exact=True)).to_have_count(0)
        assert_clean(page)
    # Nor on the Models page: no promotion and no model rollback.
    open_page(page, "models")
    for label in ("Promote", "Roll back model"):
        expect(page.get_by_role("button", name=label, exact=True)).to_have_count(0)
    assert_clean(page)
    # The audit page is not registered for a viewer, so its address does not open it.
    page.goto("/audit")
    page.wait_for_timeout(1500)
    expect(page.get_by_role("heading", name="Audit log")).to_have_count(0)
    expect(page.get_by_role("button", name="Download CSV")).to_have_count(0)
    assert_clean(page)


def test_the_viewer_cannot_act_from_the_command_line_either(world: ConsoleWorld, audit: AuditStore,
                                                            kube_apps) -> None:  # type: ignore[no-untyped-def]
    before = kube_apps.read_namespaced_deployment(NAME, NAMESPACE)
    reason = "viewer tries the command line"
    env = {**os.environ, **world.env, "CONSOLE_PASSWORD": LOGINS["viewer"]}
    attempts = [
        ["scale", TARGET, str(before.spec.replicas + 2)],
        ["restart", TARGET],
        ["rollback", TARGET, "--to-revision", "1"],
    ]
    for arguments in attempts:
        result = subprocess.run([sys.executable, "-m", "console", *arguments, "--reason", reason, "--user", "viewer"],
                                env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 1, result
        assert "viewer (viewer) may not operate deployments" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        record = latest_record(audit, action=arguments[0], username="viewer")
        assert record is not None and record.outcome is Outcome.DENIED and record.reason == reason
        assert record.before is None and record.after is None

    after = kube_apps.read_namespaced_deployment(NAME, NAMESPACE)
    assert after.metadata.resource_version == before.metadata.resource_version
    assert after.spec.replicas == before.spec.replicas


# ---------------------------------------------------------------------------------------------- operator


def test_the_operator_scales_a_deployment(page: Page, audit: AuditStore, kube_apps) -> None:  # type: ignore[no-untyped-def]
    wanted = kube_apps.read_namespaced_deployment(NAME, NAMESPACE).spec.replicas + 1
    reason = "traffic peak from the browser"
    sign_in(page, "operator", LOGINS["operator"])
    open_deployment(page, NAMESPACE, NAME)
    confirm(page, "Scale", reason, fill=lambda box: box.get_by_label("Replicas").fill(str(wanted)))
    wait_for_the_rollout_on_the_page(page)
    assert_clean(page)

    deployment = kube_apps.read_namespaced_deployment(NAME, NAMESPACE)
    assert deployment.spec.replicas == wanted
    assert deployment.metadata.annotations[LAST_ACTION_ANNOTATION] == f"operator: scale to {wanted} - {reason}"
    wait_for(lambda: rollout_finished(kube_apps), timeout_seconds=30, what="the scaled rollout")
    record = latest_record(audit, action="scale", username="operator")
    assert record is not None and record.outcome is Outcome.SUCCEEDED and record.reason == reason
    assert record.role == "operator" and record.after is not None and record.before is not None


def test_the_operator_restarts_a_deployment(page: Page, audit: AuditStore, kube_apps) -> None:  # type: ignore[no-untyped-def]
    before = kube_apps.read_namespaced_deployment(NAME, NAMESPACE)
    reason = "stuck workers, seen in the browser"
    sign_in(page, "operator", LOGINS["operator"])
    open_deployment(page, NAMESPACE, NAME)
    confirm(page, "Restart", reason)
    wait_for_the_rollout_on_the_page(page)
    assert_clean(page)

    deployment = kube_apps.read_namespaced_deployment(NAME, NAMESPACE)
    restarted_at = (deployment.spec.template.metadata.annotations or {}).get(RESTARTED_AT)
    assert restarted_at and restarted_at != (before.spec.template.metadata.annotations or {}).get(RESTARTED_AT)
    assert int(deployment.metadata.annotations[REVISION]) == int(before.metadata.annotations[REVISION]) + 1
    assert deployment.metadata.annotations[CHANGE_CAUSE] == f"operator: restart - {reason}"
    wait_for(lambda: rollout_finished(kube_apps), timeout_seconds=30, what="the restart's rollout")
    record = latest_record(audit, action="restart", username="operator")
    assert record is not None and record.outcome is Outcome.SUCCEEDED and record.reason == reason
    assert record.parameters["restartedAt"] == restarted_at


def _served_by_revision(kube_apps) -> dict[int, str]:  # type: ignore[no-untyped-def]
    replica_sets = kube_apps.list_namespaced_replica_set(NAMESPACE, label_selector=f"app={NAME}").items
    return {int(rs.metadata.annotations[REVISION]): rs.spec.template.metadata.annotations[MODEL_VERSION_ANNOTATION]
            for rs in replica_sets}


def _pick_revision(page: Page, chosen: int, expected: str) -> Callable[[Any], None]:
    def pick(box) -> None:  # type: ignore[no-untyped-def]
        select_option(page, box.get_by_label("Revision"), str(chosen))
        expect(box.get_by_text(expected).first).to_be_visible()
    return pick


def test_the_operator_rolls_back_to_a_revision_of_the_same_model(page: Page, audit: AuditStore,  # type: ignore[no-untyped-def]
                                                                 kube_apps) -> None:
    # A restart makes a revision that serves the same model version as the one before it.
    current = kube_apps.read_namespaced_deployment(NAME, NAMESPACE)
    version = current.spec.template.metadata.annotations[MODEL_VERSION_ANNOTATION]
    kube_apps.patch_namespaced_deployment(NAME, NAMESPACE, {"spec": {"template": {"metadata": {"annotations": {
        RESTARTED_AT: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}}}}})
    wait_for(lambda: rollout_finished(kube_apps), timeout_seconds=30, what="the restart's rollout")
    served = _served_by_revision(kube_apps)
    newest = max(served)
    chosen = max(number for number, served_version in served.items() if served_version == version and number < newest)
    reason = "back to the revision before the restart"
    sign_in(page, "operator", LOGINS["operator"])
    open_deployment(page, NAMESPACE, NAME)
    confirm(page, "Roll back", reason, fill=_pick_revision(page, chosen, "What changes:"))
    wait_for_the_rollout_on_the_page(page)
    assert_clean(page)

    deployment = kube_apps.read_namespaced_deployment(NAME, NAMESPACE)
    assert deployment.spec.template.metadata.annotations[MODEL_VERSION_ANNOTATION] == version
    assert deployment.metadata.annotations[CHANGE_CAUSE] == f"operator: rollback - {reason}"
    wait_for(lambda: rollout_finished(kube_apps), timeout_seconds=30, what="the rollback's rollout")
    record = latest_record(audit, action="rollback", username="operator")
    assert record is not None and record.outcome is Outcome.SUCCEEDED and record.reason == reason
    assert record.parameters["toRevision"] == chosen


def test_a_rollback_to_another_model_version_moves_the_alias_with_it(page: Page, audit: AuditStore,  # type: ignore[no-untyped-def]
                                                                     kube_apps, mlflow_client) -> None:
    served = _served_by_revision(kube_apps)
    holder = mlflow_client.get_registered_model(NAME).aliases["champion"]
    chosen = max(number for number, version in served.items() if version != str(holder))
    target = served[chosen]
    reason = "the older model served better"
    sign_in(page, "operator", LOGINS["operator"])
    open_deployment(page, NAMESPACE, NAME)
    wait_until_idle(page)
    page.get_by_role("button", name="Roll back", exact=True).click()
    box = dialog(page)
    _pick_revision(page, chosen, f"{NAME} version {target}")(box)
    # A plain rollback would leave the registry and the cluster disagreeing: only the model rollback is offered.
    expect(box.get_by_role("button", name="Roll back", exact=True)).to_have_count(0)
    box.get_by_label(REASON_LABEL).fill(reason)
    box.get_by_role("button", name=f"Roll back the model to version {target}").click()
    wait_for_the_rollout_on_the_page(page)
    assert_clean(page)

    assert str(mlflow_client.get_registered_model(NAME).aliases["champion"]) == target
    deployment = kube_apps.read_namespaced_deployment(NAME, NAMESPACE)
    assert deployment.spec.template.metadata.annotations[MODEL_VERSION_ANNOTATION] == target
    [record] = audit.query(AuditFilter(action="model-rollback", username="operator", limit=1))
    assert record.outcome is Outcome.SUCCEEDED and record.reason == reason and record.target == f"{NAME}@champion"
    assert record.after["deployments"][TARGET]["toRevision"] == chosen
