"""Model domain: version ids, metric points, the release gate and the model card (pure)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from pnyx.domain import model_card
from pnyx.domain import models as m
from pnyx.domain.containment import ContainmentLevel
from pnyx.errors import ConflictError, InvalidInputError, PermissionDeniedError

ALL_SUITES = frozenset(m.REQUIRED_SUITES)


def facts(**kw: Any) -> m.ReleaseFacts:
    base: dict[str, Any] = {
        "model": "lm",
        "version": 2,
        "containment": ContainmentLevel.CL1,
        "released": False,
        "suites": ALL_SUITES,
        "weights_open": True,
        "data_open": True,
        "approvals": (),
        "card_sha256": "ab" * 32,
    }
    base.update(kw)
    return m.ReleaseFacts(**base)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("lm@1", ("lm", 1)), ("pnyx-demo-lm@12", ("pnyx-demo-lm", 12)), (" a.b_c@3 ", ("a.b_c", 3))],
)
def test_version_ids(value: str, expected: tuple[str, int]) -> None:
    assert m.parse_version_id(value) == expected
    assert m.parse_version_id(m.format_version_id(*expected)) == expected


@pytest.mark.parametrize("value", ["lm", "lm@0", "lm@-1", "LM@1", "@1", "lm@1@2", "lm@x"])
def test_bad_version_ids(value: str) -> None:
    with pytest.raises(InvalidInputError, match="NAME@N"):
        m.parse_version_id(value)


def test_metric_points_are_ordered_deduplicated_and_rounded() -> None:
    rows = [
        {"step": 2, "loss": 4.123456789, "tokens_per_s": 1234.56789, "mfu": None, "lr": 1e-3},
        {"step": 1, "loss": 5.0, "lr": 0.003, "tokens": 99},
        {"step": 2, "loss": 4.0},
    ]
    points = m.parse_metric_points(rows)
    assert [p["step"] for p in points] == [1, 2]
    assert points[1] == {"step": 2, "loss": 4.0, "tokens_per_s": None, "mfu": None, "lr": None}
    assert m.parse_metric_points(rows[:1])[0]["loss"] == 4.12346
    assert m.parse_metric_points(rows[:1])[0]["tokens_per_s"] == 1234.57


@pytest.mark.parametrize(
    "row", [{"loss": 1.0}, {"step": 1}, {"step": -1, "loss": 1.0}, {"step": 1, "loss": "nan"}]
)
def test_bad_metric_rows(row: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        m.parse_metric_points([row])


def test_cl1_release_passes_with_evals_and_openness() -> None:
    event = m.check_release(facts())
    assert event.gate == [
        "eval:heldout-perplexity",
        "eval:multiple-choice",
        "openness:weights+data",
    ]
    assert event.resolution_id is None and event.card_sha256 == "ab" * 32


@pytest.mark.parametrize(
    ("kw", "error", "reason"),
    [
        ({"released": True}, ConflictError, "already released"),
        ({"suites": frozenset()}, ConflictError, "heldout-perplexity, multiple-choice"),
        ({"suites": frozenset({m.HELDOUT_SUITE})}, ConflictError, "missing: multiple-choice"),
        ({"weights_open": None, "data_open": None}, PermissionDeniedError, "no award"),
        ({"weights_open": False}, PermissionDeniedError, "weights_open=False"),
        ({"data_open": False}, PermissionDeniedError, "data_open=False"),
        ({"containment": ContainmentLevel.CL3}, PermissionDeniedError, "approve-release"),
        (
            {"containment": ContainmentLevel.CL4, "approvals": [("r-1", "CL-3")]},
            PermissionDeniedError,
            "CL-4 or above",
        ),
    ],
)
def test_release_refusals_say_why(kw: dict[str, Any], error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        m.check_release(facts(**kw))


def test_high_containment_release_names_the_resolution() -> None:
    event = m.check_release(
        facts(containment=ContainmentLevel.CL3, approvals=[("r-7", "CL-4"), ("r-2", "CL-2")])
    )
    assert event.resolution_id == "r-7" and event.gate[-1] == "council:r-7"


LINEAGE = {
    "run_id": "run-j-000001",
    "job_id": "j-000001",
    "run_manifest_sha256": "11" * 32,
    "order_sha256": "22" * 32,
    "datasets": [{"dataset": "stdlib-code", "version": 1, "manifest_sha256": "33" * 32}],
    "project_id": "tiny",
    "award_id": "p-1",
    "resolution_id": None,
}
VERSION = {
    "model": "lm",
    "version": 1,
    "license": "Apache-2.0",
    "containment": "CL-1",
    "params": 1234567,
    "description": "A test model: with a colon, and 'quotes'.",
    "lineage": LINEAGE,
}


def test_card_front_matter_parses_with_lineage_and_results() -> None:
    evals = [
        {"suite": m.HELDOUT_SUITE, "report_sha256": "44" * 32, "metrics": {"perplexity": 12.5}},
        {
            "suite": m.MC_SUITE,
            "report_sha256": "55" * 32,
            "metrics": {"benchmark": "pycloze-v1", "acc": 0.5, "acc_norm": 0.4},
        },
    ]
    card = model_card.render_card(VERSION, evals)
    _, front, body = card.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["license"] == "apache-2.0" and meta["datasets"] == ["stdlib-code@1"]
    assert meta["pnyx"]["lineage"] == LINEAGE
    results = meta["model-index"][0]["results"]
    assert results[0]["metrics"][0] == {"type": "perplexity", "value": 12.5, "name": "Perplexity"}
    assert {x["type"]: x["value"] for x in results[1]["metrics"]} == {"acc": 0.5, "acc_norm": 0.4}
    for heading in ("## Intended use", "## Limitations", "## Lineage", "## Evaluation"):
        assert heading in body
    assert "| heldout-perplexity | perplexity | 12.5 |" in body
    assert model_card.render_card(VERSION, evals) == card  # deterministic


def test_card_without_evaluations_says_so() -> None:
    card = model_card.render_card(VERSION, [])
    assert "model-index" not in yaml.safe_load(card.split("---\n")[1])
    assert "No evaluation report is on record yet." in card


def test_run_from_manifest_checks_status_and_links() -> None:
    manifest = {
        "status": "completed",
        "links": {"job_id": "j-1", "award_id": "p-1", "project_id": "x", "resolution_id": "r-1"},
        "datasets": [{"dataset": "d", "version": 2, "manifest_sha256": "66" * 32, "records": 3}],
        "code_version": "pnyx 0.1.0",
        "config": {"train": {"steps": 5}},
        "world_size": 2,
        "hardware": {"device": "cpu", "world_size": 2},
        "steps": 5,
    }
    kw: dict[str, Any] = {
        "run_id": "run-j-1",
        "manifest_sha256": "77" * 32,
        "order_sha256": "88" * 32,
        "job_id": "j-1",
        "project_id": "x",
        "award_id": "p-1",
        "containment": "CL-2",
    }
    event = m.run_from_manifest(manifest, **kw)
    assert event.datasets == [{"dataset": "d", "version": 2, "manifest_sha256": "66" * 32}]
    assert event.resolution_id == "r-1" and event.hardware == "device=cpu, world_size=2"
    for run_key in ("52c77e00-j-1", "ns-j-1.r2"):
        links = {**manifest["links"], "job_id": run_key}  # type: ignore[dict-item]
        assert m.run_from_manifest({**manifest, "links": links}, **kw).job_id == "j-1"
    with pytest.raises(InvalidInputError, match="job_id 'x-j-11'"):
        m.run_from_manifest({**manifest, "links": {"job_id": "x-j-11"}}, **kw)
    with pytest.raises(InvalidInputError, match="award_id 'p-1', the job says 'p-2'"):
        m.run_from_manifest(manifest, **{**kw, "award_id": "p-2"})
    with pytest.raises(ConflictError, match="running"):
        m.run_from_manifest({**manifest, "status": "running"}, **kw)
    with pytest.raises(InvalidInputError, match="datasets"):
        m.run_from_manifest({**manifest, "datasets": []}, **kw)
