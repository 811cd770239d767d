"""Dataset decisions: SPDX licences, references, version numbering and manifest binding."""

from __future__ import annotations

import pytest
from tests.unit.data.manifests import make_manifest

from pnyx.data.manifest import manifest_hash
from pnyx.domain.datasets import check_license, decide_add_version, decide_removal, parse_ref
from pnyx.errors import ConflictError, InvalidInputError


def test_licences() -> None:
    assert check_license("psf-2.0") == "PSF-2.0"
    assert check_license("mit or apache-2.0") == "MIT OR Apache-2.0"
    for bad in ["", "Proprietary", "GPL-9.0"]:
        with pytest.raises(InvalidInputError, match="SPDX"):
            check_license(bad)


def test_refs() -> None:
    assert parse_ref("code") == ("code", None)
    assert parse_ref("code@12") == ("code", 12)
    for bad in ["code@", "code@x", "code@0"]:
        with pytest.raises(InvalidInputError):
            parse_ref(bad)


def test_add_version_binds_the_manifest_hash() -> None:
    m = make_manifest()
    ev = decide_add_version(m, manifest_hash(m), latest_version=1)
    assert ev.manifest_sha256 == ev.manifest_artifact == manifest_hash(m)
    assert (ev.dataset, ev.version, ev.parent) == ("stdlib-code", 2, 1)
    with pytest.raises(ConflictError, match="next version is 1"):
        decide_add_version(m, manifest_hash(m), latest_version=None)
    with pytest.raises(InvalidInputError, match="not the manifest's hash"):
        decide_add_version(m, "0" * 64, latest_version=1)
    with pytest.raises(InvalidInputError, match="canonical SPDX"):
        decide_add_version(m | {"license": "psf-2.0"}, manifest_hash(m), latest_version=1)


def test_removal_keeps_hashes_and_reason() -> None:
    parent = make_manifest() | {"version": 1, "parent": None}
    child = make_manifest()
    ev = decide_removal(parent, child, [{"sha256": "c" * 64, "reason": "r"}], "r", ["b", "a"],
                        "runs")  # fmt: skip
    assert ev.removed == [{"sha256": "c" * 64, "reason": "r"}] and ev.affected_runs == ["a", "b"]
    with pytest.raises(InvalidInputError):
        decide_removal(parent, child, [], "r", [], "runs")
