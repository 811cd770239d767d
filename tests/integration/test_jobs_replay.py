"""Property: any sequence of job commands (submit, place, transition, cancel, log), allowed or
not, leaves the job projections equal to a replay of the log, and each job's state is what the
domain's transition table says."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.jobs_setup import OPERATOR, JobWorld, build_world, request

from pnyx.domain.jobs import TRANSITIONS, JobState
from pnyx.errors import ConflictError, PnyxError
from pnyx.services import jobs as svc
from pnyx.services.context import ServiceContext
from pnyx.store.replay import check_replay


@dataclass
class Model:
    """The world and what the test expects of each job."""

    world: JobWorld
    states: dict[str, JobState] = field(default_factory=dict)


_MODELS: dict[int, Model] = {}


def model_for(ctx: ServiceContext) -> Model:
    if id(ctx) not in _MODELS:
        _MODELS[id(ctx)] = Model(build_world(ctx))
    return _MODELS[id(ctx)]


@dataclass(frozen=True)
class Step:
    kind: str  # submit | place | move | cancel | log
    job: int
    target: JobState


STEPS = st.builds(
    Step,
    st.sampled_from(["submit", "place", "move", "move", "move", "cancel", "log"]),
    st.integers(0, 4),
    st.sampled_from(list(JobState)),
)


def apply(ctx: ServiceContext, m: Model, step: Step) -> None:
    ids = sorted(m.states)
    if step.kind == "submit" or not ids:
        job = svc.submit_job(ctx, m.world.alice, request(m.world, time_limit_s=60))
        m.states[job.job_id] = JobState.QUEUED
        return
    job_id = ids[step.job % len(ids)]
    current = m.states[job_id]
    if step.kind == "log":
        svc.record_job_log(ctx, OPERATOR, job_id, f"{job_id} {step.target}\n")
        return
    if step.kind == "cancel":
        try:
            view = svc.cancel_job(ctx, OPERATOR, job_id, "property test")
        except ConflictError:
            assert current.final or svc.get_job(ctx, job_id).cancel_requested
            return
        m.states[job_id] = JobState(view.state)
        return
    target = JobState.PLACED if step.kind == "place" else step.target
    allowed = target in TRANSITIONS[current]
    try:
        if target is JobState.PLACED:
            view = svc.place_job(ctx, OPERATOR, job_id, "lab-gpu", "h100", "property test")
        else:
            view = svc.transition_job(ctx, OPERATOR, job_id, target.value, "property test")
    except ConflictError as e:
        cancelling = svc.get_job(ctx, job_id).cancel_requested and target is JobState.PLACED
        assert not allowed or cancelling, f"{current} -> {target} refused: {e}"
        return
    except PnyxError:
        assert target is JobState.PLACED or not allowed
        return
    assert allowed, f"{current} -> {target} was accepted"
    assert view.state == target.value
    m.states[job_id] = target


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEPS, max_size=20))
def test_any_job_commands_replay_to_the_same_projections(
    ctx: ServiceContext, steps: list[Step]
) -> None:
    m = model_for(ctx)
    for step in steps:
        apply(ctx, m, step)
    assert {j.job_id: j.state for j in svc.list_jobs(ctx)} == {
        k: v.value for k, v in m.states.items()
    }
    report = check_replay(ctx.db)
    assert report.ok, report.as_dict()
