"""The kustomize overlays build, every object passes strict schema validation, and the objects say what the
deployment guide promises: restricted-SCC security, probes, sticky sessions, settings, SLO specs and rules."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import referencing
import yaml
from kubernetes_validate.utils import schema_contents

from .conftest import (
    CONSOLE_NAMESPACE,
    OPENSHIFT,
    OVERLAYS,
    ROOT,
    SERVICE_ACCOUNT,
    find,
    one,
    rendered,
    settings_of,
)

KUBERNETES_VERSION = "1.37.0"
SCHEMAS = Path(__file__).parent / "schemas"
CUSTOM_SCHEMAS = {
    ("route.openshift.io/v1", "Route"): "route-route.openshift.io-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring.coreos.com-v1.json",
}
EXPECTED_KINDS = {
    "ServiceAccount", "Deployment", "Service", "Route", "NetworkPolicy", "PodDisruptionBudget", "ConfigMap",
    "Role", "RoleBinding", "ClusterRoleBinding", "PrometheusRule",
}


@functools.lru_cache(maxsize=None)
def custom_validator(filename: str) -> jsonschema.protocols.Validator:
    """A CRD schema kept in tests/openshift/schemas; metadata is checked against Kubernetes' strict ObjectMeta."""
    schema = json.loads((SCHEMAS / filename).read_text())
    definitions = schema_contents("kubernetes-json-schema/v1.37.0-local-strict/_definitions.json", KUBERNETES_VERSION)
    registry = referencing.Resource.from_contents(definitions) @ referencing.Registry()
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate_strictly(obj: dict[str, Any]) -> None:
    custom = CUSTOM_SCHEMAS.get((obj.get("apiVersion"), obj.get("kind")))
    if custom is not None:
        custom_validator(custom).validate(obj)
    else:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


# --- building and validating -----------------------------------------------------------------------------


def test_every_overlay_builds_with_the_expected_kinds(objects: list[dict[str, Any]]) -> None:
    assert {o["kind"] for o in objects} == EXPECTED_KINDS
    names = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]
    assert len(names) == len(set(names))


def test_every_object_passes_strict_validation(objects: list[dict[str, Any]]) -> None:
    problems = []
    for obj in objects:
        try:
            validate_strictly(obj)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as err:
            problems.append(f"{obj['kind']} {obj['metadata']['name']}: {err.message} at {list(err.absolute_path)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("broken", [
    lambda route: route["spec"].__setitem__("tls", {"termination": "edge", "insecureEdgeTerminationPolicy": "Sometimes"}),
    lambda route: route["spec"].__setitem__("stickiness", True),
    lambda route: route["spec"]["to"].pop("name"),
    lambda route: route["metadata"].__setitem__("labelz", {}),
])
def test_the_route_schema_can_fail(broken: Any) -> None:
    route = json.loads(json.dumps(one(rendered("demo"), "Route")))
    broken(route)
    with pytest.raises(jsonschema.ValidationError):
        validate_strictly(route)


def test_the_prometheusrule_schema_can_fail() -> None:
    rule = json.loads(json.dumps(one(rendered("demo"), "PrometheusRule")))
    rule["spec"]["groups"][0]["rules"][0]["alert"] = "Both"
    with pytest.raises(jsonschema.ValidationError):
        validate_strictly(rule)
    rule = json.loads(json.dumps(one(rendered("demo"), "PrometheusRule")))
    rule["spec"]["groups"][0]["interval"] = "30 seconds"
    with pytest.raises(jsonschema.ValidationError):
        validate_strictly(rule)


def test_the_console_objects_live_in_the_console_project(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if obj["kind"] in ("Role", "RoleBinding"):
            continue
        if obj["kind"] == "ClusterRoleBinding":
            assert "namespace" not in obj["metadata"]
        else:
            assert obj["metadata"]["namespace"] == CONSOLE_NAMESPACE, obj["kind"]


# --- the Deployment under OpenShift's restricted SCC ------------------------------------------------------


def test_deployment_passes_the_restricted_scc(objects: list[dict[str, Any]]) -> None:
    deployment = one(objects, "Deployment", "mlops-console")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    # OpenShift picks the UID (and fsGroup) from the project's range; fixing one here would fail restricted-v2.
    assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["serviceAccountName"] == SERVICE_ACCOUNT
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["readOnlyRootFilesystem"] is True
        assert security["runAsNonRoot"] is True
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert "runAsUser" not in security and "privileged" not in security
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert all(set(v) & {"secret", "configMap", "emptyDir"} for v in volumes.values()), "no hostPath or other volume types"


def test_deployment_has_probes_resources_and_writable_scratch(objects: list[dict[str, Any]]) -> None:
    pod = one(objects, "Deployment", "mlops-console")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 8501, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}, probe
    resources = container["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    env = {e["name"]: e for e in container["env"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = {path for path, m in mounts.items() if not m.get("readOnly")}
    assert writable == {"/tmp", env["HOME"]["value"]}
    assert all("emptyDir" in volumes[mounts[path]["name"]] for path in writable)
    assert env["XDG_CACHE_HOME"]["value"].startswith(env["HOME"]["value"] + "/")
    assert env["CONSOLE_AUDIT_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "mlops-console-credentials", "key": "audit-database-url"}


def test_mounted_paths_match_the_settings(objects: list[dict[str, Any]]) -> None:
    """Every file setting points into a volume the Deployment mounts (or the service account's token volume)."""
    settings = settings_of(objects)
    pod = one(objects, "Deployment", "mlops-console")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["envFrom"] == [{"configMapRef": {"name": _settings_name(objects)}}]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    secret_dir = next(path for path, name in mounts.items() if "secret" in volumes[name])
    slo_dir = next(path for path, name in mounts.items() if "configMap" in volumes[name])
    assert volumes[mounts[secret_dir]]["secret"]["secretName"] == "mlops-console-credentials"
    assert settings["CONSOLE_AUTH_FILE"] == f"{secret_dir}/auth.yaml"
    assert settings["CONSOLE_COOKIE_KEY_FILE"] == f"{secret_dir}/cookie-key"
    assert settings["CONSOLE_SLO_DIR"] == slo_dir
    slo_configmap = volumes[mounts[slo_dir]]["configMap"]["name"]
    assert one(objects, "ConfigMap", slo_configmap)["data"].keys() == {p.name for p in (OPENSHIFT / "base/slos").glob("*.yaml")}
    if "MLFLOW_TRACKING_TOKEN_FILE" in settings:
        assert settings["MLFLOW_TRACKING_TOKEN_FILE"] == f"{secret_dir}/mlflow-tracking-token"
    token_dir = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert settings["PROMETHEUS_BEARER_TOKEN_FILE"] == f"{token_dir}/token"
    assert settings["PROMETHEUS_CA_BUNDLE"] == f"{token_dir}/service-ca.crt"
    assert pod["automountServiceAccountToken"] is True


def _settings_name(objects: list[dict[str, Any]]) -> str:
    return next(o["metadata"]["name"] for o in find(objects, "ConfigMap") if o["metadata"]["name"].startswith("mlops-console-settings"))


# --- Service, Route, NetworkPolicy, PodDisruptionBudget ---------------------------------------------------


def test_service_and_route_keep_a_browser_on_one_replica(objects: list[dict[str, Any]]) -> None:
    deployment = one(objects, "Deployment", "mlops-console")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = one(objects, "Service", "mlops-console")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [{"name": "http", "port": 8501, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["sessionAffinity"] == "ClientIP"
    route = one(objects, "Route", "mlops-console")
    assert route["spec"]["to"]["name"] == service["metadata"]["name"]
    assert route["spec"]["port"]["targetPort"] == "http"
    assert route["spec"]["tls"] == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
    annotations = route["metadata"]["annotations"]
    assert annotations["haproxy.router.openshift.io/disable_cookies"] == "false"
    assert annotations["router.openshift.io/cookie_name"]


def test_network_policy_and_disruption_budget_select_the_console(objects: list[dict[str, Any]]) -> None:
    pod_labels = one(objects, "Deployment", "mlops-console")["spec"]["template"]["metadata"]["labels"]
    policy = one(objects, "NetworkPolicy", "mlops-console")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8501}]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"network.openshift.io/policy-group": "ingress"}}}]
    budget = one(objects, "PodDisruptionBudget", "mlops-console")
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget["spec"]["minAvailable"] < one(objects, "Deployment", "mlops-console")["spec"]["replicas"]


# --- settings ---------------------------------------------------------------------------------------------


def known_settings() -> set[str]:
    """Every variable name console/config.py reads (the first argument of the reader's calls)."""
    source = (ROOT / "console/config.py").read_text()
    names = set(re.findall(r'reader\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    names |= set(re.findall(r'reader\.secret\(\s*"[A-Z0-9_]+",\s*"([A-Z][A-Z0-9_]+)"', source))
    return names


def test_settings_are_real_setting_names(objects: list[dict[str, Any]]) -> None:
    known = known_settings()
    assert {"CONSOLE_ENV", "PROMETHEUS_URL", "CONSOLE_COOKIE_KEY_FILE"} <= known
    settings = settings_of(objects)
    assert set(settings) - known == set()
    pod = one(objects, "Deployment", "mlops-console")["spec"]["template"]["spec"]
    env_names = {e["name"] for e in pod["containers"][0]["env"]}
    assert env_names - known == {"HOME", "XDG_CACHE_HOME", "TMPDIR"}


def test_settings_point_at_openshift_monitoring_and_the_cluster(objects: list[dict[str, Any]]) -> None:
    settings = settings_of(objects)
    assert settings["CONSOLE_KUBE_IN_CLUSTER"] == "true"
    assert settings["PROMETHEUS_URL"] == "https://thanos-querier.openshift-monitoring.svc:9091"
    assert settings["CONSOLE_SLO_DIR"] == "/etc/console/slos"


def test_demo_and_production_settings() -> None:
    demo, production = settings_of(rendered("demo")), settings_of(rendered("production"))
    assert demo["CONSOLE_ENV"] == "demo" and demo["CONSOLE_NAMESPACES"] == "ml-serving,ml-staging"
    assert production["CONSOLE_ENV"] == "production"
    assert production["MLFLOW_TRACKING_URI"].startswith(("http://", "https://"))
    assert production["MLFLOW_TRACKING_TOKEN_FILE"]


def test_settings_load_with_the_secret_mounted(tmp_path: Path) -> None:
    """The production ConfigMap, with the Secret's files and a service account where the pod has them, is
    accepted by the console's own settings reader."""
    from console.config import load_settings

    settings = settings_of(rendered("production"))
    secret_dir, sa_dir, slo_dir = tmp_path / "secrets", tmp_path / "sa", tmp_path / "slos"
    for directory in (secret_dir, sa_dir, slo_dir):
        directory.mkdir()
    (secret_dir / "auth.yaml").write_text("credentials:\n  usernames: {}\n")
    (secret_dir / "cookie-key").write_text("k" * 40)
    (secret_dir / "mlflow-tracking-token").write_text("token")
    (sa_dir / "token").write_text("sa-token")
    (sa_dir / "service-ca.crt").write_text("ca")
    moved = {
        name: value.replace("/etc/console/secrets", str(secret_dir))
        .replace("/var/run/secrets/kubernetes.io/serviceaccount", str(sa_dir))
        .replace("/etc/console/slos", str(slo_dir))
        for name, value in settings.items()
    }
    loaded = load_settings({**moved, "CONSOLE_AUDIT_DATABASE_URL": "postgresql://console:pw@db/console"})
    assert loaded.is_production and loaded.kube_in_cluster and loaded.namespaces == ("ml-production",)
    assert loaded.prometheus_url == settings["PROMETHEUS_URL"] and loaded.mlflow_tracking_token == "token"


# --- SLO specs and their rules never drift ----------------------------------------------------------------


def test_slo_specs_are_the_examples() -> None:
    copies = {p.name: p.read_bytes() for p in (OPENSHIFT / "base/slos").glob("*")}
    examples = {p.name: p.read_bytes() for p in (ROOT / "examples/slos").glob("*")}
    assert copies == examples, "copy examples/slos/* to openshift/base/slos/ (and regenerate prometheusrule.yaml)"


def test_kustomization_lists_every_slo_spec() -> None:
    kustomization = yaml.safe_load((OPENSHIFT / "base/kustomization.yaml").read_text())
    [generator] = [g for g in kustomization["configMapGenerator"] if g["name"] == "mlops-console-slos"]
    assert sorted(generator["files"]) == sorted(f"slos/{p.name}" for p in (ROOT / "examples/slos").glob("*.yaml"))


def test_prometheusrule_is_a_fresh_generation(tmp_path: Path) -> None:
    fresh = tmp_path / "prometheusrule.yaml"
    # The alerts link to the console at the address the base settings give it.
    settings = dict(
        line.split("=", 1) for line in (OPENSHIFT / "base/settings.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    console_url = settings["CONSOLE_PUBLIC_URL"]
    result = subprocess.run(
        [sys.executable, "-m", "console", "slo", "rules", "--slo-dir", str(ROOT / "examples/slos"),
         "--console-url", console_url, "--output", str(fresh)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert (OPENSHIFT / "base/prometheusrule.yaml").read_text() == fresh.read_text(), (
        "regenerate: python -m console slo rules --slo-dir openshift/base/slos "
        f"--console-url {console_url} --output openshift/base/prometheusrule.yaml"
    )


def test_rendered_prometheusrule_carries_every_slo(objects: list[dict[str, Any]]) -> None:
    rule = one(objects, "PrometheusRule")
    assert rule["metadata"]["namespace"] == CONSOLE_NAMESPACE
    committed = yaml.safe_load((OPENSHIFT / "base/prometheusrule.yaml").read_text())
    assert rule["spec"] == committed["spec"]


# --- the Secret is an example only ------------------------------------------------------------------------


def test_the_secret_example_is_never_applied_and_holds_no_secret() -> None:
    for path in OPENSHIFT.rglob("kustomization.yaml"):
        kustomization = yaml.safe_load(path.read_text())
        assert "secretGenerator" not in kustomization, path
        assert not [r for r in kustomization.get("resources", []) if "secret" in r], path
    for overlay in OVERLAYS:
        assert not find(rendered(overlay), "Secret")
    example = yaml.safe_load((OPENSHIFT / "secret.example.yaml").read_text())
    validate_strictly(example)
    assert example["metadata"]["name"] == "mlops-console-credentials"
    data = example["stringData"]
    pod = one(rendered("production"), "Deployment", "mlops-console")["spec"]["template"]["spec"]
    env_keys = {e["valueFrom"]["secretKeyRef"]["key"] for e in pod["containers"][0]["env"] if "valueFrom" in e}
    file_keys = {Path(v).name for k, v in settings_of(rendered("production")).items() if v.startswith("/etc/console/secrets/")}
    assert set(data) == env_keys | file_keys
    for key, value in data.items():
        assert "REPLACE" in value, f"{key} must be a placeholder"
    assert len(data["cookie-key"].encode()) < 32, "a production start must refuse the example cookie key"
