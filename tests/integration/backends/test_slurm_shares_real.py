"""mirror_shares against the dev cluster's slurmdbd: the tree appears, and stays put."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from slurm_support import make_slurm_backend

from pnyx.backends.base import JobSpec
from pnyx.backends.slurm_shares import ASSOC_FORMAT, AccountShare, mirror_shares, parse_associations

pytestmark = pytest.mark.slurm


def test_shares_are_mirrored_once_and_jobs_can_be_charged_to_a_project(tmp_path: Path) -> None:
    backend = make_slurm_backend(tmp_path)
    tag = uuid.uuid4().hex[:6]
    member, programme, project = f"m-{tag}", f"p-{tag}", f"proj-{tag}"
    tree = [
        AccountShare(member, None, 0.3),
        AccountShare(programme, member, 0.5),
        AccountShare(project, programme, 1.0),
    ]
    first = mirror_shares(backend, tree, users=["root"])
    assert len(first) == 4  # three accounts and root's association with the project
    assert mirror_shares(backend, tree, users=["root"]) == []  # idempotent

    out = backend.run_slurm(
        ["sacctmgr", "-n", "-P", "show", "associations", f"format={ASSOC_FORMAT}"]
    )
    rows = {(a.account, a.user): a for a in parse_associations(out)}
    assert rows[(member, "")].parent == "root" and rows[(member, "")].fairshare == "3000"
    assert rows[(programme, "")].parent == member
    assert rows[(project, "")].parent == programme
    assert (project, "root") in rows

    changed = [AccountShare(member, None, 0.4), *tree[1:]]
    (modify,) = mirror_shares(backend, changed, users=["root"])
    assert modify[-2:] == ["set", "fairshare=4000"]

    job = JobSpec(f"charged-{tag}", ("true",), "h100", account=project)
    backend_id = backend.submit(job)
    deadline = time.monotonic() + 60
    while not backend.status([job.job_id])[job.job_id].state.final:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    charged = backend.run_slurm(["sacct", "-n", "-P", "-X", "-j", backend_id, "-o", "Account"])
    assert charged.split() == [project]
