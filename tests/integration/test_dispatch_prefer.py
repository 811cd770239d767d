"""Mixed passes (the scheduling core on clusters whose nodes the inventory declares, the
broker on the others): a job's preferred accelerator type wins wherever it has room."""

from __future__ import annotations

from tests.integration.test_dispatch import Site

from pnyx.backends.fake import FakeNode, FakeProgram
from pnyx.services.context import ServiceContext


def _site(ctx: ServiceContext, gpu_nodes: list[FakeNode] | None = None) -> Site:
    # lab-mix's engine reports its declared nodes (the core schedules it); lab-gpu's engine
    # reports nodes the inventory does not declare (the broker hands it jobs)
    return Site(ctx, program=lambda spec: FakeProgram(duration_s=None), gpu_nodes=gpu_nodes)


def test_the_preferred_type_on_a_broker_cluster_beats_the_cores_second_choice(
    ctx: ServiceContext,
) -> None:
    site = _site(ctx)
    either = site.submit(accelerator_types=["h100", "mi300x"], accelerators_per_node=2)
    report = site.run()
    assert report.placed == [either]
    view = site.job(either)
    assert (view.cluster, view.accelerator_type) == ("lab-gpu", "h100")
    assert site.gpu.find(site.key(either)) is not None


def test_the_second_choice_is_taken_when_the_preferred_type_has_no_room(
    ctx: ServiceContext,
) -> None:
    site = _site(ctx, gpu_nodes=[FakeNode("gpu-x", "h100", 2)])
    first = site.submit(accelerator_types=["h100"], accelerators_per_node=2)
    site.run()
    assert site.job(first).cluster == "lab-gpu"
    either = site.submit(accelerator_types=["h100", "mi300x"], accelerators_per_node=2)
    report = site.run()
    assert report.placed == [either]
    view = site.job(either)
    assert (view.cluster, view.accelerator_type) == ("lab-mix", "mi300x")
    placed = next(h for h in view.history if h.state == "placed")
    assert placed.reason.startswith("pnyx: ")  # the core placed it on its nodes


def test_a_preferred_type_with_room_for_one_job_only_takes_one(ctx: ServiceContext) -> None:
    site = _site(ctx, gpu_nodes=[FakeNode("gpu-x", "h100", 2)])
    a = site.submit(accelerator_types=["h100", "mi300x"], accelerators_per_node=2)
    b = site.submit(accelerator_types=["h100", "mi300x"], accelerators_per_node=2)
    site.run()
    placed = sorted((site.job(j).cluster, site.job(j).accelerator_type) for j in (a, b))
    assert placed == [("lab-gpu", "h100"), ("lab-mix", "mi300x")]
