"""Views of delivered against enacted shares (statements) and of simulator reports."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ShareDay(BaseModel):
    """One member on one UTC day: what it was delivered and what the Council enacted."""

    model_config = ConfigDict(frozen=True)
    day: str
    delivered_accel_hours: float
    total_accel_hours: float
    """Everyone's delivered accelerator-hours that day."""
    delivered_share: float | None
    """``delivered / total`` (None on a day with no usage at all)."""
    enacted_share: float
    """The member's share of the facility in force, averaged over the day."""


class MemberShareHistory(BaseModel):
    """A member's delivered vs enacted share per day, from the first to the last day of usage."""

    model_config = ConfigDict(frozen=True)
    member_id: str
    days: list[ShareDay]


class SimReportSummary(BaseModel):
    """One simulator report found in the data directory."""

    model_config = ConfigDict(frozen=True)
    name: str
    policy: str
    jobs: int
    accelerators: int
    utilisation: float
    mean_wait_s: float
    share_deviation_pp: dict[str, float]


class SimReport(SimReportSummary):
    """A whole report: the ``sim run`` metrics and the series written with them."""

    metrics: dict[str, Any]
    series: dict[str, Any]


class UtilisationView(BaseModel):
    """Accelerators held by jobs now against the inventory, and what waits (public)."""

    model_config = ConfigDict(frozen=True)
    capacity_by_site: dict[str, dict[str, int]]
    """site -> accelerator type -> accelerators in the inventory."""
    in_use_by_site: dict[str, dict[str, int]]
    """site -> accelerator type -> accelerators of placed, starting, running, completing jobs."""
    in_use_by_member: dict[str, dict[str, int]]
    """member -> accelerator type -> accelerators held."""
    queued_by_member: dict[str, int]
    """member -> accelerators its queued and requeued jobs ask for."""
    running_jobs: int
    queued_jobs: int
