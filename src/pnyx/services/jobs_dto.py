"""What the job services take and return (also the API's request and response schemas)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class JobRequest(BaseModel):
    """A job as submitted: what to run, on how much of what, for how long, how contained.

    Secrets belong in ``env`` (private to the submitter and operators), never in ``command``
    (public in the record).
    """

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    project_id: str
    award_id: str
    command: list[str]
    env: dict[str, str] = Field(default_factory=dict)
    nodes: int = 1
    accelerators_per_node: int = 1
    accelerator_types: list[str]
    time_limit_s: int
    containment: str = "CL-1"
    preemptible: bool = False
    checkpoint_signal: str | None = None
    grace_s: int = 0
    datasets: list[str] = Field(default_factory=list)
    workdir: str | None = None


class HistoryEntry(BaseModel):
    """One state a job entered, why, and when."""

    model_config = ConfigDict(frozen=True)
    state: str
    reason: str
    at: str


class JobView(BaseModel):
    """A job and where it stands. ``nodes`` is the gang size; ``allocated_nodes`` the hosts of
    its current (or last) run. ``env`` is None for all but the submitter and operators
    (:func:`pnyx.services.jobs.visible_to`). ``pending_reason`` (one job's view only) says why
    a queued job waits: "reserved: starts by T on nodes ...", no room, or the broker's reason.
    """

    model_config = ConfigDict(frozen=True)
    job_id: str
    name: str | None
    project_id: str
    award_id: str
    command: list[str]
    env: dict[str, str] | None
    nodes: int
    accelerators_per_node: int
    accelerator_types: list[str]
    time_limit_s: int
    containment: str
    preemptible: bool
    checkpoint_signal: str | None
    grace_s: int
    datasets: list[str]
    workdir: str | None
    state: str
    state_reason: str
    cluster: str | None
    accelerator_type: str | None
    backend_job_id: str | None
    allocated_nodes: list[str]
    exit_code: int | None
    cancel_requested: bool
    cancel_reason: str | None
    runs: int
    submitter: str
    submitted_at: str
    started_at: str | None
    ended_at: str | None
    history: list[HistoryEntry]
    pending_reason: str | None = None  # queued: why it waits, as the dispatcher last said
    pending_since: str | None = None  # queued: when the dispatcher first said that reason


class JobLogView(BaseModel):
    """The kept tail of a job's log (empty when none was recorded yet)."""

    model_config = ConfigDict(frozen=True)
    job_id: str
    text: str
    size: int
    truncated: bool
    recorded_at: str | None
