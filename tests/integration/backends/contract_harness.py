"""Drives any backend the same way: submit and remember, let the engine work, poll until.

``settle()`` lets the engine work (the fake's clock moves one second, real engines get a short
sleep) and ``wait()`` polls status until a condition holds or a generous deadline passes; no
test relies on a fixed sleep, so the same tests pass on a Slurm that takes seconds to schedule.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from contract_job import Scenario

from pnyx.backends.base import Backend, BackendError, BackendUnavailableError, JobSpec, JobStatus

ACCELERATOR = "h100"  # the type every test cluster has (Slurm: 4 nodes x 8 fake h100)


@dataclass
class Harness:
    """A backend plus the few things the suite needs to drive it the same way everywhere."""

    kind: str
    backend: Backend
    time_limit_s: int  # the shortest time limit the engine enforces promptly
    deadline_s: float  # how long a wait may take before the test fails
    submitted: list[str] = field(default_factory=list)

    def spec(self, scenario: Scenario, **kw: Any) -> JobSpec:
        """A one-node, one-accelerator job running ``scenario`` (``kw`` overrides fields)."""
        job_id = kw.pop("job_id", None) or f"contract-{uuid.uuid4().hex[:12]}"
        return JobSpec(job_id, scenario.command(), ACCELERATOR, **kw)

    def submit(self, spec: JobSpec) -> str:
        """Submit and remember the job (every job left running is cancelled at teardown)."""
        self.submitted.append(spec.job_id)
        return self.backend.submit(spec)

    def settle(self) -> None:
        """Let the engine work a little."""
        hook: Callable[[], None] | None = getattr(self.backend, "settle", None)
        if hook is not None:
            hook()
        else:
            time.sleep(0.2)

    def wait(self, job_id: str, until: Callable[[JobStatus], bool], what: str) -> JobStatus:
        """Poll status until ``until`` holds; fail naming ``what`` after the deadline."""
        deadline = time.monotonic() + self.deadline_s
        while True:
            try:
                status = self.backend.status([job_id])[job_id]
            except BackendUnavailableError:  # callers retry; so does the suite, until deadline
                assert time.monotonic() < deadline, f"{self.kind} stayed unavailable"
                self.settle()
                continue
            if until(status):
                return status
            if time.monotonic() > deadline:
                log = self._logs(job_id)
                pytest.fail(f"{self.kind}: job {job_id} never {what}; last {status}; log: {log}")
            self.settle()

    def wait_final(self, job_id: str) -> JobStatus:
        """Poll until the job reaches a final state."""
        return self.wait(job_id, lambda s: s.state.final, "finished")

    def wait_log(self, job_id: str, text: str) -> str:
        """Poll the job's log until it contains ``text``."""
        deadline = time.monotonic() + self.deadline_s
        while text not in (log := self._logs(job_id)):
            if time.monotonic() > deadline:
                pytest.fail(f"{self.kind}: {text!r} never appeared in job {job_id}'s log: {log}")
            self.settle()
        return log

    def pid_alive(self, pid: int) -> bool:
        """Is process ``pid`` of a job still running (a zombie counts as gone)?"""
        hook: Callable[[int], bool] | None = getattr(self.backend, "pid_alive", None)
        if hook is not None:
            return hook(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat[stat.rindex(")") + 2] not in "ZX"

    def _logs(self, job_id: str) -> str:
        try:
            return self.backend.logs(job_id)
        except BackendError as e:
            return f"<no log: {e}>"
