"""Training config: presets, overrides, validation, environment links, round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pnyx.errors import InvalidInputError
from pnyx.training.config import from_resolved, load_config, parse_config

SHA = "ab" * 32


def raw(**sections: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": {"preset": "tiny"},
        "data": {"artifact_root": "art", "datasets": [{"manifest": SHA}], "seq_len": 32},
    }
    base.update(sections)
    return base


def test_preset_overrides_and_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    r = raw(model={"preset": "tiny", "num_layers": 3}, train={"steps": 5})
    r["data"]["datasets"].append({"manifest_path": "m.json"})
    path.write_text(json.dumps(r))
    cfg = load_config(path, env={})
    assert cfg.model.num_layers == 3 and cfg.model.hidden_size == 160  # tiny's
    assert cfg.model_preset == "tiny" and cfg.train.steps == 5
    assert cfg.data.artifact_root == str(tmp_path / "art")
    assert cfg.data.datasets[1].manifest_path == str(tmp_path / "m.json")


def test_yaml_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        f"model: {{preset: demo}}\ndata:\n  artifact_root: /a\n  datasets: [{{manifest: {SHA}}}]\n"
    )
    cfg = load_config(path, env={})
    assert cfg.model.hidden_size == 192 and cfg.data.seq_len == 256


def test_links_come_from_the_environment_unless_given() -> None:
    env = {"PNYX_JOB_ID": "job-1", "PNYX_AWARD_ID": "aw-2", "PNYX_RESOLUTION_ID": "res-3"}
    cfg = parse_config(raw(links={"award_id": "aw-9"}), env=env)
    assert cfg.links.job_id == "job-1"
    assert cfg.links.award_id == "aw-9"
    assert cfg.links.resolution_id == "res-3" and cfg.links.project_id is None


def test_resolved_round_trip() -> None:
    cfg = parse_config(raw(train={"steps": 9, "compile": True}), env={"PNYX_JOB_ID": "j"})
    again = from_resolved(json.loads(json.dumps(cfg.resolved())))
    assert again.model == cfg.model and again.train == cfg.train and again.data == cfg.data
    assert again.links.job_id == "j"


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"model": {"preset": "huge"}}, "unknown model preset"),
        ({"train": {"stepz": 1}}, "unknown key(s) in train: stepz"),
        ({"train": {"steps": 0}}, "train.steps"),
        ({"train": {"precision": "fp8"}}, "train.precision"),
        ({"train": {"parallel": "tp"}}, "train.parallel"),
        ({"data": {"artifact_root": "a", "datasets": [], "seq_len": 32}}, "at least one"),
        ({"data": {"artifact_root": "a", "datasets": [{}], "seq_len": 32}}, "exactly one"),
        ({"data": {"artifact_root": "a", "datasets": [{"manifest": SHA}], "seq_len": 4096}},
         "max_seq_len"),
        ({"extra": {}}, "unknown section"),
    ],
)  # fmt: skip
def test_invalid_configs_are_refused(sections: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config(raw(**sections), env={})
