"""A small facility with awards, for job tests: members de/fr/it, the example small facility
(lab-gpu: 4 x 8 h100, CL-3 cluster with a CL-3 partition on one rack; lab-mix: mi300x and gaudi3,
CL-2), one call and two awarded projects. The clock is moved inside the awards' period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pnyx.data.artifacts import ArtifactStore
from pnyx.domain.allocation import CallSpec, ProposalSpec, ReviewPolicy
from pnyx.domain.containment import ContainmentLevel
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.services import awards, calls, datasets, identity, inventory, programmes, reviews
from pnyx.services.context import ServiceContext
from pnyx.services.jobs_dto import JobRequest

OPERATOR = Actor.system()
FACILITY = Path(__file__).resolve().parents[2] / "examples" / "facility-small.yaml"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
IN_PERIOD = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class JobWorld:
    """Who is who, and the award of each project."""

    alice: Actor  # proposer of project alpha (de)
    bob: Actor  # proposer of project beta (fr)
    award_alpha: str  # h100 100 h, mi300x 10 h, CL-1
    award_beta: str  # h100 2 h, CL-2


def set_time(ctx: ServiceContext, moment: datetime) -> None:
    """Move the test's FakeClock (tests/conftest.py) to ``moment``."""
    ctx.clock.now = moment  # type: ignore[attr-defined]


def _person(ctx: ServiceContext, pid: str, role: Role, member: str) -> Actor:
    identity.create_principal(
        ctx, OPERATOR, NewPrincipal(pid, pid.title(), frozenset({role}), member)
    )
    return Actor(pid, frozenset({role}), member)


def build_world(
    ctx: ServiceContext, period: tuple[str, str] = ("2026-02-01", "2026-12-31")
) -> JobWorld:
    """Members, facility, one call, two awarded projects; the clock ends inside the default
    period (pass ``period`` around today for commands that read the wall clock)."""
    set_time(ctx, T0)
    for m in ("de", "fr", "it"):
        identity.admit_member(ctx, OPERATOR, m, m.upper())
    inventory.load_facility(ctx, OPERATOR, inventory.parse_facility_file(FACILITY))
    programmes.ensure_programmes(ctx)
    calls.open_call(
        ctx,
        OPERATOR,
        CallSpec(
            call_id="c1",
            programme_id="open-models",
            title="Open models 2026",
            budget={"h100": 1000, "mi300x": 100},
            period_start=period[0],
            period_end=period[1],
            deadline="2026-01-01T01:00:00+00:00",
            review_deadline="2026-01-01T02:00:00+00:00",
            policy=ReviewPolicy(min_reviewers=1, threshold="1"),
        ),
    )
    alice = _person(ctx, "alice", Role.RESEARCHER, "de")
    bob = _person(ctx, "bob", Role.RESEARCHER, "fr")
    reviewer = _person(ctx, "rev", Role.REVIEWER, "it")
    ids = {}
    for who, project, requested, level in (
        (alice, "alpha", {"h100": 100, "mi300x": 10}, ContainmentLevel.CL1),
        (bob, "beta", {"h100": 2}, ContainmentLevel.CL2),
    ):
        spec = ProposalSpec("c1", project, f"Project {project}", "Open model.", requested, level)
        ids[project] = calls.submit_proposal(ctx, who, spec).proposal_id
    set_time(ctx, T0 + timedelta(hours=1, seconds=1))
    plan = reviews.assign_reviewers(ctx, OPERATOR, "c1")
    for pid in ids.values():
        for rid in plan[pid]:
            assert rid == reviewer.principal_id
            reviews.record_review(ctx, reviewer, pid, 5, "good")
    set_time(ctx, T0 + timedelta(hours=2, seconds=1))
    awards.publish_awards(ctx, OPERATOR, "c1")
    set_time(ctx, IN_PERIOD)
    return JobWorld(alice, bob, ids["alpha"], ids["beta"])


def request(world: JobWorld, **overrides: object) -> JobRequest:
    """A valid one-node h100 job of project alpha for one hour; ``overrides`` change fields."""
    fields: dict[str, object] = {
        "name": "train",
        "project_id": "alpha",
        "award_id": world.award_alpha,
        "command": ["python", "-m", "train", "--steps", "10"],
        "env": {"HF_TOKEN": "secret-value"},
        "nodes": 1,
        "accelerators_per_node": 8,
        "accelerator_types": ["h100"],
        "time_limit_s": 3600,
        "containment": "CL-1",
    }
    fields.update(overrides)
    return JobRequest.model_validate(fields)


def add_dataset(ctx: ServiceContext, root: Path, name: str = "web-text") -> str:
    """Ingest a two-file text dataset under ``root``; its ``name@version`` reference."""
    files = root / f"{name}-files"
    files.mkdir(parents=True, exist_ok=True)
    (files / "a.txt").write_text("An open sentence.\n")
    (files / "b.txt").write_text("Another open sentence.\n")
    store = ArtifactStore(root / "artifacts")
    view = datasets.add_version(ctx, OPERATOR, store, name, files, "text", "CC0-1.0", "tests")
    return f"{name}@{view.version}"
