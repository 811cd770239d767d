"""Model cards in Hugging Face format: README.md with YAML metadata, rendered from the record.

The YAML front matter carries the licence, datasets, tags, the evaluation results as a
``model-index`` and pnyx's lineage (run, run manifest, dataset manifests, award, resolution);
the body says what the model is for, what it is not for, how it was trained and evaluated, and
how to load it. Pure: same inputs, same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

INTENDED_USE = (
    "Research and teaching: studying how a small open language model learns from openly "
    "licensed, fully traceable training data; reproducing and auditing its training run."
)
LIMITATIONS = (
    "A small model trained briefly: it produces plausible-looking but often wrong text and "
    "code, knows only what its training data contained, and has had no safety tuning. Do not "
    "use it for decisions about people, for advice, or in production systems."
)


def hf_license(spdx: str) -> str:
    """The Hub's licence tag for an SPDX id (lowercase), e.g. Apache-2.0 -> apache-2.0."""
    return spdx.strip().lower()


def card_metadata(
    version: Mapping[str, Any], evaluations: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The YAML front matter of a model version's card."""
    lineage = version["lineage"]
    datasets = [f"{d['dataset']}@{d['version']}" for d in lineage["datasets"]]
    meta: dict[str, Any] = {
        "license": hf_license(version["license"]),
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["pnyx", "open-data", "llama", str(version["containment"]).lower()],
        "datasets": datasets,
        "model_name": f"{version['model']}@{version['version']}",
        "pnyx": {
            "model": version["model"],
            "version": version["version"],
            "containment": version["containment"],
            "parameters": version["params"],
            "lineage": lineage,
        },
    }
    if evaluations:
        meta["model-index"] = [
            {"name": version["model"], "results": [_result(e, datasets) for e in evaluations]}
        ]
    return meta


def _result(report: Mapping[str, Any], datasets: list[str]) -> dict[str, Any]:
    metrics = report["metrics"]
    if report["suite"] == "heldout-perplexity":
        name = "held-out split of " + ", ".join(datasets)
        values = [{"type": "perplexity", "value": metrics.get("perplexity"), "name": "Perplexity"}]
    else:
        name = str(metrics.get("benchmark", report["suite"]))
        values = [
            {"type": key, "value": metrics.get(key), "name": key} for key in ("acc", "acc_norm")
        ]
    return {
        "task": {"type": "text-generation", "name": report["suite"]},
        "dataset": {"name": name, "type": report["suite"]},
        "metrics": values,
        "source": {"name": "pnyx evaluation report", "url": f"sha256:{report['report_sha256']}"},
    }


def render_card(version: Mapping[str, Any], evaluations: Sequence[Mapping[str, Any]]) -> str:
    """The README.md of a model version (front matter + Markdown body)."""
    meta = card_metadata(version, evaluations)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    vid = meta["model_name"]
    lineage = version["lineage"]
    lines = [
        "---",
        front.rstrip("\n"),
        "---",
        "",
        f"# {vid}",
        "",
        str(version["description"]),
        "",
        f"- Parameters: {version['params']:,}",
        f"- Licence: {version['license']}",
        f"- Containment level: {version['containment']}",
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## Limitations",
        "",
        LIMITATIONS,
        "",
        "## Lineage",
        "",
        *_lineage_lines(lineage),
        "",
        "## Evaluation",
        "",
        *_eval_lines(evaluations),
        "",
        "## How to load",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        'model = AutoModelForCausalLM.from_pretrained("./model")',
        'tokenizer = AutoTokenizer.from_pretrained("./model")',
        "```",
        "",
        f"Fetch the directory with `pnyx model download {vid} --out ./model`; every file is "
        "checked against the SHA-256 recorded on the ledger.",
        "",
    ]
    return "\n".join(lines)


def _lineage_lines(lineage: Mapping[str, Any]) -> list[str]:
    lines = [
        f"- Run: `{lineage['run_id']}` (job `{lineage['job_id']}`), run manifest "
        f"`sha256:{lineage['run_manifest_sha256']}`, sample order `sha256:"
        f"{lineage['order_sha256']}`",
    ]
    lines += [
        f"- Dataset: `{d['dataset']}@{d['version']}`, manifest `sha256:{d['manifest_sha256']}`"
        for d in lineage["datasets"]
    ]
    lines.append(f"- Project: `{lineage['project_id']}`, award: `{lineage['award_id']}`")
    lines.append(f"- Council resolution: `{lineage['resolution_id']}`")
    return lines


def _eval_lines(evaluations: Sequence[Mapping[str, Any]]) -> list[str]:
    if not evaluations:
        return ["No evaluation report is on record yet."]
    lines = ["| suite | metric | value |", "|---|---|---|"]
    keys = ("perplexity", "acc", "acc_norm", "tokens", "n")
    lines.extend(
        f"| {e['suite']} | {key} | {e['metrics'][key]} |"
        for e in evaluations
        for key in keys
        if key in e["metrics"]
    )
    return lines
