"""Ingestion: file discovery, HTML to text, shard packing, drafts and removals (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.croissant import render_croissant
from pnyx.data.htmltext import html_to_text
from pnyx.data.ingest import collect_files, draft_removal, draft_version, pack, read_items
from pnyx.data.manifest import manifest_bytes, manifest_hash
from pnyx.data.shards import TextRecord, read_text_shard
from pnyx.errors import InvalidInputError, NotFoundError


def test_html_to_text_keeps_the_main_part() -> None:
    html = (
        "<html><head><title>T</title><style>x{}</style></head><body>"
        "<div class='nav'>Navigation</div><div role='main'><h1>Title</h1>"
        "<p>First &amp; <b>bold</b></p><script>alert(1)</script><p>Second</p></div>"
        "<footer>Footer</footer></body></html>"
    )
    assert html_to_text(html) == "Title\n\nFirst & bold\n\nSecond\n"
    assert html_to_text("<p>no main</p><p>here</p>") == "no main\n\nhere\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_collect_and_read(tmp_path: Path) -> None:
    root = write(tmp_path / "src", {"b.py": "b = 2\n", "a/x.py": "x = 1\n", "n.txt": "skip",
                                    "e.py": "  \n"})  # fmt: skip
    _, files = collect_files(root, "code")
    assert [f.relative_to(root).as_posix() for f in files] == ["a/x.py", "b.py", "e.py"]
    items = read_items(root, "code", "https://example.org/repo/")
    assert [i.id for i in items] == ["a/x.py", "b.py"]  # the blank file is skipped
    assert items[0].source == "https://example.org/repo/a/x.py"  # type: ignore[union-attr]
    (root / "bad.py").write_bytes(b"\xff\xfe")
    with pytest.raises(InvalidInputError, match=r"bad\.py: not UTF-8"):
        read_items(root, "code", "s")
    with pytest.raises(NotFoundError):
        collect_files(tmp_path / "missing", "code")
    with pytest.raises(InvalidInputError, match="unknown modality"):
        collect_files(root, "smell")


def test_pack_respects_the_limit() -> None:
    recs = [TextRecord.of(f"d{i}", "x" * 100, "s") for i in range(10)]
    groups = pack(recs, 450)
    assert [len(g) for g in groups] == [2, 2, 2, 2, 2]
    assert [r for g in groups for r in g] == recs
    assert [len(g) for g in pack(recs, 10)] == [1] * 10  # oversized items get their own shard


def test_draft_and_removal(tmp_path: Path) -> None:
    recs = [TextRecord.of(f"d{i}", f"document number {i}\n", f"https://x/{i}") for i in range(6)]
    draft = draft_version("demo", 1, None, "text", "CC0-1.0", "https://x", recs,
                          shard_limit_bytes=300)  # fmt: skip
    m = draft.manifest
    assert m["records"] == 6 and len(m["shards"]) == len(draft.shards) > 1
    assert m["bytes"] == sum(len(b) for b in draft.shards)
    assert m["tokens"]["cl100k_base"] > 6
    store = ArtifactStore(tmp_path / "a")
    for b in draft.shards:
        store.put_bytes(b)
    child, removed = draft_removal(store, m, 2, [recs[0].sha256], ["https://x/3"], "asked")
    assert [r["sha256"] for r in removed] == sorted([recs[0].sha256, recs[3].sha256])
    cm = child.manifest
    assert cm["version"] == 2 and cm["parent"] == 1 and cm["records"] == 4
    kept = [r for b in child.shards for r in read_text_shard(b)]
    assert [r.id for r in kept] == ["d1", "d2", "d4", "d5"]
    assert cm["metadata"]["shard_limit_bytes"] == 300
    with pytest.raises(InvalidInputError, match="nothing written"):
        draft_removal(store, m, 2, ["0" * 64], [], "asked")
    with pytest.raises(InvalidInputError, match="reason"):
        draft_removal(store, m, 2, [recs[0].sha256], [], " ")
    doc = render_croissant(cm, manifest_hash(cm))
    assert doc["isBasedOn"] == "demo@1" and doc["identifier"] == f"sha256:{manifest_hash(cm)}"
    assert manifest_bytes(cm).startswith(b'{"bytes":')
