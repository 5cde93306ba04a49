"""What the console knows about MLflow: experiments, runs, registered models, versions and alias history.

These are the console's own frozen records; the MLflow adapter builds them from MLflow entities so that no
layer above it sees an MLflow type. Times are timezone-aware UTC ``datetime`` objects. Mappings are plain
dicts so that the records pickle (Streamlit's ``st.cache_data`` pickles what it caches); treat them as
read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Version tags and registered-model tags that the console reads and writes. Shared by the seed, the
# promotion logic and the services, so they live here.
TAG_PREFIX = "mlops.console/"
TAG_ARCHIVED = TAG_PREFIX + "archived"

# MLflow's stage names; stages are deprecated but an "Archived" stage still means "do not promote".
STAGE_ARCHIVED = "Archived"
STATUS_READY = "READY"


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    lifecycle_stage: str
    artifact_location: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: datetime | None = None
    last_update_time: datetime | None = None


@dataclass(frozen=True)
class RunSummary:
    """One run with its latest metric values, params and tags (what a row of the runs table shows)."""

    run_id: str
    run_name: str
    experiment_id: str
    status: str
    start_time: datetime | None
    end_time: datetime | None
    user_id: str
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def duration_seconds(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()


@dataclass(frozen=True)
class RunPage:
    """One page of a run search; ``next_page_token`` is None on the last page."""

    runs: tuple[RunSummary, ...]
    next_page_token: str | None


@dataclass(frozen=True)
class ArtifactEntry:
    path: str
    is_dir: bool
    file_size_bytes: int | None


@dataclass(frozen=True)
class MetricPoint:
    step: int
    value: float
    timestamp: datetime


@dataclass(frozen=True)
class MetricHistory:
    run_id: str
    key: str
    points: tuple[MetricPoint, ...]


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str
    creation_time: datetime | None
    last_updated_time: datetime | None
    tags: dict[str, str] = field(default_factory=dict)
    # alias name -> version number that holds it
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: int
    status: str
    stage: str
    run_id: str
    source: str
    description: str
    creation_time: datetime | None
    last_updated_time: datetime | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def is_archived(self) -> bool:
        """Archived either by the console's tag or by MLflow's (deprecated) Archived stage."""
        return self.tags.get(TAG_ARCHIVED, "").strip().lower() == "true" or self.stage == STAGE_ARCHIVED

    @property
    def is_ready(self) -> bool:
        return self.status == STATUS_READY


@dataclass(frozen=True)
class AliasHolder:
    """Which version holds an alias now; ``version`` is None when nobody holds it."""

    model: str
    alias: str
    version: int | None


@dataclass(frozen=True)
class PromotionRecord:
    """One change of an alias: ``version`` took it over from ``previous_version`` at ``at``.

    ``version`` is None when the alias was removed (an undo back to "nobody"). ``action`` is one of
    ``seed``, ``promote``, ``undo``.
    """

    model: str
    alias: str
    version: int | None
    previous_version: int | None
    at: datetime
    actor: str
    reason: str
    action: str = "promote"
    gate: str = ""
    overridden: bool = False


@dataclass(frozen=True)
class AliasHistory:
    """The retained promotions of one alias, oldest first.

    The history is bounded; ``dropped_count`` says how many older records were discarded, in which case
    times before the first retained record cannot be answered.
    """

    model: str
    alias: str
    records: tuple[PromotionRecord, ...]
    dropped_count: int = 0


@dataclass(frozen=True)
class HolderAt:
    """The answer to "which version held this alias at time T".

    ``known`` is False when T falls before the retained history; ``version`` is None when nobody held the
    alias then; ``record`` is the change that put that holder in place.
    """

    model: str
    alias: str
    at: datetime
    version: int | None
    known: bool
    record: PromotionRecord | None
