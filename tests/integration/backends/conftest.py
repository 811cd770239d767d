"""The contract suite's fixtures: one ``backend`` per engine (fake, local, slurm).

Each test runs against the in-memory fake, the local backend and the real Slurm cluster of
deploy/slurm/dev-cluster.sh (marked ``slurm``; its backend comes from ``slurm_support.py`` in
this folder, imported the way tests/integration imports its helpers: this folder is on sys.path).
Tests drive the engines through :class:`contract_harness.Harness`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from contract_harness import ACCELERATOR, Harness
from contract_job import fake_program

from pnyx.backends.base import Backend, BackendError
from pnyx.backends.fake import FakeBackend
from pnyx.backends.local import LocalBackend


def _make_slurm(tmp_path: Path) -> Backend:
    try:
        from slurm_support import make_slurm_backend
    except ImportError as e:
        pytest.fail(
            "the slurm contract run needs tests/integration/backends/slurm_support.py with "
            f"make_slurm_backend(tmp_path) -> Backend (and the cluster of "
            f"deploy/slurm/dev-cluster.sh): {e}"
        )
    backend: Backend = make_slurm_backend(tmp_path)
    return backend


@pytest.fixture(params=["fake", "local", pytest.param("slurm", marks=pytest.mark.slurm)])
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Which engine the test runs against."""
    kind: str = request.param
    return kind


@pytest.fixture
def backend(backend_kind: str, tmp_path: Path) -> Backend:
    """A fresh backend of the kind under test."""
    if backend_kind == "fake":
        return FakeBackend(program_for=fake_program)
    if backend_kind == "local":
        return LocalBackend(
            state_dir=tmp_path / "local", accelerators={ACCELERATOR: 8}, kill_grace_s=2
        )
    return _make_slurm(tmp_path)


@pytest.fixture
def harness(backend_kind: str, backend: Backend) -> Iterator[Harness]:
    """The backend under test with its polling helpers; cancels leftover jobs afterwards."""
    real = backend_kind != "fake"
    h = Harness(
        kind=backend_kind,
        backend=backend,
        # local: long enough for the job to install its trap before the checkpoint signal on a
        # loaded machine; Slurm: its limits are whole minutes
        time_limit_s={"fake": 3, "local": 6}.get(backend_kind, 60),
        deadline_s={"fake": 10.0, "local": 60.0}.get(backend_kind, 240.0),
    )
    yield h
    for job_id in h.submitted:
        with suppress(BackendError):
            backend.cancel(job_id)
    if real and h.submitted:  # leave no process behind for the next test
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with suppress(BackendError):
                states = backend.status(h.submitted)
                if all(s.state.final for s in states.values()):
                    break
            time.sleep(0.2)
