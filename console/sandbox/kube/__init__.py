"""A local Kubernetes API server for the demo and the tests, faithful for every verb the console uses.

``KubeApiServer`` serves the core, apps and autoscaling APIs over HTTP with a simulated deployment
controller, scheduler and kubelet; ``seed_demo_world`` fills it with the demo's serving Deployments.
"""

from .clock import ManualClock, SystemClock
from .demo import DemoRevision, RevisionSpec, demo_revision_times, seed_demo_world, seed_deployment
from .errors import ApiError
from .server import KubeApiServer

__all__ = [
    "ApiError",
    "DemoRevision",
    "KubeApiServer",
    "ManualClock",
    "RevisionSpec",
    "SystemClock",
    "demo_revision_times",
    "seed_demo_world",
    "seed_deployment",
]
