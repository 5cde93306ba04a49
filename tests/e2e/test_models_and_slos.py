"""Promotions from the Models page and an SLO's detail from the overview.

Written against the pages' expected interface: the promote dialog on /models (a version, a reason, a confirm
button "Promote"), a failed gate that blocks, an admin-only override with its own reason, and SLO overview rows
that link to ``/slos?slo=<name>``. While a page is still the "Not connected yet" placeholder, its journeys are
skipped at run time; once the page lands they run.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Locator, Page, expect

from console.adapters.audit_store import AuditStore
from console.domain.audit import AuditFilter, Outcome
from console.domain.promotion import TAG_GATE_OVERRIDDEN, TAG_PROMOTED_BY, TAG_PROMOTION_REASON
from console.domain.workloads import MODEL_VERSION_ANNOTATION
from tests.e2e.ui import (
    assert_clean,
    dialog,
    header,
    is_placeholder,
    open_page,
    select_option,
    sign_in,
    wait_until_idle,
)
from tests.e2e.world import LOGINS

CHAMPION = "champion"
SERVED_BY = {"iris-classifier": ("ml-serving", "iris-classifier"),
             "diabetes-regressor": ("ml-staging", "diabetes-regressor")}


def _assert_connected(page: Page, what: str) -> None:
    assert not is_placeholder(page), f"the {what} page says 'Not connected yet': the world's backend is missing"


def _open_models(page: Page, role: str) -> None:
    sign_in(page, role, LOGINS[role])
    open_page(page, "models")
    _assert_connected(page, "Models")
    assert_clean(page)


def _version_of(mlflow_client, model: str, alias: str) -> str:  # type: ignore[no-untyped-def]
    return str(mlflow_client.get_model_version_by_alias(model, alias).version)


def _open_promotion(page: Page, model: str, version: str) -> Locator:
    """Pick the model and the version on the Models page and open the promote dialog."""
    select_option(page, page.get_by_label("Registered model"), model)
    wait_until_idle(page)
    select_option(page, page.get_by_label("Version", exact=True), version)
    wait_until_idle(page)
    page.get_by_role("button", name="Promote", exact=True).click()
    box = dialog(page)
    expect(box.get_by_text(f"to version {version}")).to_be_visible()
    return box


def _reason_fields(box: Locator) -> Locator:
    return box.get_by_role("textbox", name=re.compile("reason", re.IGNORECASE))


def _wait_for_template_version(kube_apps, namespace: str, name: str, version: str,  # type: ignore[no-untyped-def]
                               timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while True:
        template = kube_apps.read_namespaced_deployment(name, namespace).spec.template
        if (template.metadata.annotations or {}).get(MODEL_VERSION_ANNOTATION) == version:
            return
        assert time.monotonic() < deadline, f"{namespace}/{name} never got model version {version}"
        time.sleep(0.2)


def test_the_operator_promotes_a_model_whose_gate_passes_and_its_deployment_rolls_out(
    page: Page, audit: AuditStore, mlflow_client, kube_apps,  # type: ignore[no-untyped-def]
) -> None:
    model, candidate = "iris-classifier", _version_of(mlflow_client, "iris-classifier", "challenger")
    _open_models(page, "operator")
    reason = "challenger beats the champion"
    box = _open_promotion(page, model, candidate)
    _reason_fields(box).first.fill(reason)
    box.get_by_role("button", name="Promote", exact=True).click()
    expect(page.get_by_text(re.compile(rf"Version {candidate} of {model} now holds")).first).to_be_visible()
    assert_clean(page)

    assert _version_of(mlflow_client, model, CHAMPION) == candidate
    tags = mlflow_client.get_model_version(model, candidate).tags
    assert tags[TAG_PROMOTED_BY] == "operator" and tags[TAG_PROMOTION_REASON] == reason
    assert tags[TAG_GATE_OVERRIDDEN] == "false"
    namespace, name = SERVED_BY[model]
    _wait_for_template_version(kube_apps, namespace, name, candidate)
    [record] = audit.query(AuditFilter(action="promote", username="operator", outcome=Outcome.SUCCEEDED, limit=1))
    assert record.target == f"{model}@{CHAMPION}" and record.reason == reason


def test_a_model_whose_gate_fails_is_blocked(page: Page, audit: AuditStore, mlflow_client,  # type: ignore[no-untyped-def]
                                             kube_apps) -> None:
    model = "diabetes-regressor"
    champion, candidate = _version_of(mlflow_client, model, CHAMPION), _version_of(mlflow_client, model, "challenger")
    namespace, name = SERVED_BY[model]
    before = kube_apps.read_namespaced_deployment(name, namespace)
    _open_models(page, "operator")
    box = _open_promotion(page, model, candidate)
    # An operator is not offered the override, and cannot confirm.
    expect(box.get_by_role("checkbox", name=re.compile("override", re.IGNORECASE))).to_have_count(0)
    promote = box.get_by_role("button", name="Promote", exact=True)
    if promote.count() and promote.is_enabled():
        _reason_fields(box).first.fill("try the challenger anyway")
        promote.click()
    expect(page.get_by_text(re.compile(r"blocks the promotion|does not pass the promotion gate", re.IGNORECASE)
                            ).first).to_be_visible()
    assert_clean(page)

    assert _version_of(mlflow_client, model, CHAMPION) == champion
    assert kube_apps.read_namespaced_deployment(name, namespace).metadata.resource_version == \
        before.metadata.resource_version
    succeeded = audit.query(AuditFilter(action="promote", target_contains=model, outcome=Outcome.SUCCEEDED))
    assert succeeded == []


def test_the_admin_overrides_a_failed_gate_with_a_reason(page: Page, audit: AuditStore, mlflow_client,  # type: ignore[no-untyped-def]
                                                         kube_apps) -> None:
    model = "diabetes-regressor"
    candidate = _version_of(mlflow_client, model, "challenger")
    _open_models(page, "admin")
    reason = "accepted risk: r2 drop is within noise for this cohort"
    box = _open_promotion(page, model, candidate)
    box.get_by_text(re.compile(r"^Override the failed gate")).first.click()
    for field in _reason_fields(box).all():
        field.fill(reason)
    box.get_by_role("button", name=re.compile(r"^(Promote|Override)")).last.click()
    expect(page.get_by_text(re.compile(rf"Version {candidate} of {model} now holds")).first).to_be_visible()
    assert_clean(page)

    assert _version_of(mlflow_client, model, CHAMPION) == candidate
    tags = mlflow_client.get_model_version(model, candidate).tags
    assert tags[TAG_GATE_OVERRIDDEN] == "true" and tags[TAG_PROMOTED_BY] == "admin"
    namespace, name = SERVED_BY[model]
    _wait_for_template_version(kube_apps, namespace, name, candidate)
    [record] = audit.query(AuditFilter(action="promote", username="admin", outcome=Outcome.SUCCEEDED, limit=1))
    assert record.parameters["overrideGate"] is True and record.reason == reason


def test_the_operator_opens_an_slo_detail_from_the_overview(page: Page) -> None:
    sign_in(page, "operator", LOGINS["operator"])
    open_page(page, "slos")
    _assert_connected(page, "SLOs")
    overview = page.locator('[data-testid="stDataFrame"]').first
    expect(overview).to_be_visible()
    # The grid draws on a canvas; its accessible copy names the rows, in the order they are drawn.
    first_cell = overview.locator('td[id^="glide-cell-0-"]').first
    expect(first_cell).not_to_be_empty()
    name = first_cell.inner_text().strip()
    assert_clean(page)

    # The SLO column is the first one and the grid draws on a canvas: click the first row's link where it is
    # drawn. The first click focuses the grid; the link then opens its SLO's detail in a new tab.
    box = overview.bounding_box()
    assert box is not None
    link_x, first_row_y = box["x"] + 24, box["y"] + 35 * 1.5
    page.mouse.click(link_x, first_row_y)
    with page.context.expect_page(timeout=10_000) as opened:
        page.mouse.click(link_x, first_row_y)
    detail = opened.value
    detail.wait_for_url(re.compile(rf"/slos\?slo={re.escape(name.removeprefix('?slo='))}$"))
    expect(header(detail, "SLOs")).to_be_visible()
    expect(detail.get_by_role("radio", name="Detail")).to_be_checked()
    expect(detail.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()
    wait_until_idle(detail)
    assert_clean(detail)
