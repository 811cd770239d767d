"""MLCommons Croissant 1.0 JSON-LD description of a dataset version, from its manifest.

Every shard is a ``cr:FileObject`` with its SHA-256 (``sha256``) and size; a ``cr:FileSet``
groups them (or, for media, the files inside the tars), and one ``cr:RecordSet`` describes a
record's fields and where each is extracted from. The manifest itself is listed too, so a
reader can check the version against the ledger entry that records its hash.
"""

from __future__ import annotations

from typing import Any

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
_MEDIA = {
    "image": ("sc:ImageObject", {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif"}),
    "audio": ("sc:AudioObject", {"wav": "audio/wav"}),
    "video": ("sc:VideoObject", {"y4m": "video/x-yuv4mpeg"}),
}
SPDX_URL = "https://spdx.org/licenses/{}.html"


def shard_url(base_url: str, name: str, version: int, sha: str) -> str:
    """Where the API serves a shard's bytes (checked against its hash before it is sent)."""
    return f"{base_url.rstrip('/')}/api/v1/datasets/{name}/{version}/shards/{sha}"


def _field(rs: str, name: str, dtype: str, source: dict[str, Any], desc: str) -> dict[str, Any]:
    return {
        "@type": "cr:Field",
        "@id": f"{rs}/{name}",
        "name": name,
        "description": desc,
        "dataType": dtype,
        "source": source,
    }


def render_croissant(
    manifest: dict[str, Any], manifest_sha256: str, base_url: str = ""
) -> dict[str, Any]:
    """The Croissant JSON-LD object of a dataset version."""
    name, version = manifest["dataset"], manifest["version"]
    textual = manifest["modality"] in ("text", "code")
    files: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": f"shard-{i}",
            "name": f"shard-{i}.{'jsonl' if textual else 'tar'}",
            "contentUrl": shard_url(base_url, name, version, s["sha256"]),
            "contentSize": f"{s['bytes']} B",
            "encodingFormat": "application/jsonlines" if textual else "application/x-tar",
            "sha256": s["sha256"],
        }
        for i, s in enumerate(manifest["shards"])
    ]
    shard_refs = [{"@id": f["@id"]} for f in files]
    if textual:
        record_sets, sets = _text_records(shard_refs)
    else:
        record_sets, sets = _media_records(manifest["modality"], shard_refs)
    description = (
        f"{manifest['modality']} dataset {name}, version {version}: {manifest['records']} "
        f"records in {len(files)} content-addressed shards. Source: {manifest['source']}."
    )
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": description,
        "version": f"{version}.0.0",
        "license": SPDX_URL.format(manifest["license"]),
        "url": f"{base_url.rstrip('/')}/datasets/{name}/{version}",
        "citeAs": f"{name}@{version} (manifest sha256 {manifest_sha256})",
        "identifier": f"sha256:{manifest_sha256}",
        "isBasedOn": None if manifest["parent"] is None else f"{name}@{manifest['parent']}",
        "distribution": [*files, *sets],
        "recordSet": record_sets,
    }


def _text_records(shards: list[dict[str, str]]) -> tuple[list[Any], list[Any]]:
    fileset = {
        "@type": "cr:FileSet",
        "@id": "jsonl-shards",
        "name": "jsonl-shards",
        "containedIn": shards,
        "encodingFormat": "application/jsonlines",
        "includes": "*.jsonl",
    }

    def src(column: str) -> dict[str, Any]:
        return {"fileSet": {"@id": "jsonl-shards"}, "extract": {"column": column}}

    fields = [
        _field("documents", "id", "sc:Text", src("id"), "document id (path in the source)"),
        _field("documents", "text", "sc:Text", src("text"), "the document's text"),
        _field("documents", "source", "sc:URL", src("source"), "where the document came from"),
        _field("documents", "sha256", "sc:Text", src("sha256"), "SHA-256 of the text (UTF-8)"),
    ]
    record_set = {
        "@type": "cr:RecordSet",
        "@id": "documents",
        "name": "documents",
        "key": {"@id": "documents/sha256"},
        "field": fields,
    }
    return [record_set], [fileset]


def _media_records(modality: str, shards: list[dict[str, str]]) -> tuple[list[Any], list[Any]]:
    dtype, mimes = _MEDIA[modality]
    sets: list[Any] = [
        {
            "@type": "cr:FileSet",
            "@id": f"{modality}-files",
            "name": f"{modality}-files",
            "containedIn": shards,
            "encodingFormat": mime,
            "includes": f"*.{ext}",
        }
        for ext, mime in sorted(mimes.items())
    ]
    first = f"{modality}-files"  # one record set over the tar members (WebDataset style)
    fields = [
        _field("samples", "content", dtype, {"fileSet": {"@id": first},
               "extract": {"fileProperty": "content"}}, f"the {modality} file's bytes"),
        _field("samples", "filename", "sc:Text", {"fileSet": {"@id": first},
               "extract": {"fileProperty": "filename"}}, "<key>.<ext> inside the shard"),
    ]  # fmt: skip
    record_set = {
        "@type": "cr:RecordSet",
        "@id": "samples",
        "name": "samples",
        "description": "each sample's metadata (size, rate, duration, sha256) is <key>.json",
        "field": fields,
    }
    return [record_set], sets
