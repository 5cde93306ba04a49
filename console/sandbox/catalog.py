"""The demo world's model-serving services, shared by the Kubernetes, MLflow and Prometheus parts of the sandbox.

Each entry is one registered model in the demo MLflow registry and the Deployment that serves it. The history of
versions is the history of the Deployment's revisions: revision ``i`` (1-based) served ``versions[i - 1]``; the
last entry is the current revision. ``broken_current`` marks the service whose current revision crash-loops (its
image tag contains ``broken``).
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_NAMESPACES = ("ml-serving", "ml-staging")
CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"


@dataclass(frozen=True)
class DemoService:
    model: str
    namespace: str
    deployment: str
    image_repository: str
    dataset: str
    key_metric: str
    revision_versions: tuple[int, ...]
    replicas: int = 2
    broken_current: bool = False

    @property
    def current_version(self) -> int:
        return self.revision_versions[-1]

    def image(self, revision: int) -> str:
        """Image of a revision (1-based); the current revision of a broken service gets a ``broken`` tag."""
        version = self.revision_versions[revision - 1]
        is_current = revision == len(self.revision_versions)
        tag = f"v{version}-broken" if (self.broken_current and is_current) else f"v{version}"
        return f"{self.image_repository}:{tag}"


DEMO_SERVICES: tuple[DemoService, ...] = (
    DemoService(
        model="iris-classifier",
        namespace="ml-serving",
        deployment="iris-classifier",
        image_repository="quay.io/mlops-demo/iris-classifier",
        dataset="iris",
        key_metric="accuracy",
        revision_versions=(1, 2, 3, 4),
        replicas=3,
    ),
    DemoService(
        model="wine-quality",
        namespace="ml-serving",
        deployment="wine-quality",
        image_repository="quay.io/mlops-demo/wine-quality",
        dataset="wine",
        key_metric="accuracy",
        revision_versions=(1, 2, 3, 2, 4),
        replicas=2,
        broken_current=True,
    ),
    DemoService(
        model="diabetes-regressor",
        namespace="ml-staging",
        deployment="diabetes-regressor",
        image_repository="quay.io/mlops-demo/diabetes-regressor",
        dataset="diabetes",
        key_metric="r2",
        revision_versions=(1, 2, 3),
        replicas=1,
    ),
)
