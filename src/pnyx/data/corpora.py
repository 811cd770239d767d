"""Small demo corpora made from open data already on this machine (nothing is downloaded).

Each corpus is copied (or synthesised) into a directory of its own and comes with its licence
and source, ready for ``pnyx data add``:

- code:  CPython 3.11 standard-library modules (Debian ``libpython3.11-stdlib``), PSF-2.0
- text:  the Python 3.11 library reference, HTML (Debian ``python3.11-doc``), PSF-2.0
- image: the PNG figures of that documentation (Debian ``python3.11-doc``), PSF-2.0
- audio: sentences written for pnyx, spoken by espeak-ng (Debian ``espeak-ng``), CC0-1.0
- video: a moving test pattern synthesised here as YUV4MPEG2, CC0-1.0

``deploy/system-deps.sh`` installs the Debian packages.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pnyx.errors import InvalidInputError, NotFoundError

STDLIB = Path("/usr/lib/python3.11")
PYDOC = Path("/usr/share/doc/python3.11/html")
DEFAULT_LIMIT_BYTES = 300_000
SENTENCES = (
    "The facility trains open models on data that anyone may inspect.",
    "Every dataset version is a list of shards named by their hashes.",
    "A removal request makes a new version without the removed records.",
    "The council votes, and the ledger keeps the record of every decision.",
)


@dataclass(frozen=True)
class Corpus:
    """A demo corpus on disk and what to register it with."""

    name: str
    path: Path
    modality: str
    license: str
    source: str


def _copy_until(files: list[Path], root: Path, dest: Path, limit_bytes: int) -> int:
    total = 0
    for f in files:
        size = f.stat().st_size
        if total and total + size > limit_bytes:
            continue
        target = dest / f.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
        total += size
    if total == 0:
        raise NotFoundError(f"no files copied from {root}")
    return total


def _need(path: Path, package: str) -> None:
    if not path.is_dir():
        raise NotFoundError(
            f"{path} is missing: install the Debian package {package} (deploy/system-deps.sh)"
        )


def code_corpus(dest: Path, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> Corpus:
    """Standard-library modules (top level, alphabetical) up to ``limit_bytes``."""
    _need(STDLIB, "libpython3.11-stdlib")
    files = sorted(p for p in STDLIB.glob("*.py") if p.stat().st_size < limit_bytes // 4)
    _copy_until(files, STDLIB, dest, limit_bytes)
    return Corpus(
        "stdlib-code", dest, "code", "PSF-2.0",
        "CPython 3.11 standard library, /usr/lib/python3.11 (Debian libpython3.11-stdlib)",
    )  # fmt: skip


def text_corpus(dest: Path, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> Corpus:
    """Library-reference pages (HTML; ingestion keeps their text) up to ``limit_bytes``."""
    _need(PYDOC / "library", "python3.11-doc")
    pages = (PYDOC / "library").glob("*.html")
    files = sorted(p for p in pages if p.stat().st_size < limit_bytes // 2)
    _copy_until(files, PYDOC, dest, limit_bytes)
    return Corpus(
        "python-docs", dest, "text", "PSF-2.0",
        "Python 3.11 documentation, /usr/share/doc/python3.11/html (Debian python3.11-doc)",
    )  # fmt: skip


def image_corpus(dest: Path, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> Corpus:
    """The documentation's PNG figures up to ``limit_bytes``."""
    _need(PYDOC / "_images", "python3.11-doc")
    _copy_until(sorted((PYDOC / "_images").glob("*.png")), PYDOC, dest, limit_bytes)
    return Corpus(
        "python-docs-images", dest, "image", "PSF-2.0",
        "figures of the Python 3.11 documentation, /usr/share/doc/python3.11/html/_images "
        "(Debian python3.11-doc)",
    )  # fmt: skip


def audio_corpus(dest: Path, sentences: tuple[str, ...] = SENTENCES) -> Corpus:
    """One WAV per sentence, spoken by espeak-ng."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise NotFoundError("espeak-ng is missing: install it (deploy/system-deps.sh)")
    dest.mkdir(parents=True, exist_ok=True)
    for i, sentence in enumerate(sentences):
        out = dest / f"sentence-{i:02d}.wav"
        subprocess.run([espeak, "-w", str(out), sentence], check=True, capture_output=True)
    return Corpus(
        "spoken-sentences", dest, "audio", "CC0-1.0",
        "sentences written for pnyx, synthesised offline by espeak-ng (Debian espeak-ng)",
    )  # fmt: skip


def y4m_pattern(width: int = 32, height: int = 24, frames: int = 12, fps: int = 12) -> bytes:
    """A YUV4MPEG2 (4:2:0) clip of a bar moving across a gradient."""
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)
    out = [header]
    for t in range(frames):
        bar = (t * width) // frames
        luma = bytes(
            235 if bar <= x < bar + 3 else 16 + (219 * y) // max(height - 1, 1)
            for y in range(height)
            for x in range(width)
        )
        out.append(b"FRAME\n" + luma + chroma)
    return b"".join(out)


def video_corpus(dest: Path, clips: int = 2) -> Corpus:
    """A few synthesised test-pattern clips (no open video is packaged offline here)."""
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(clips):
        (dest / f"pattern-{i}.y4m").write_bytes(y4m_pattern(frames=8 + 4 * i))
    return Corpus("test-patterns", dest, "video", "CC0-1.0", "test patterns synthesised by pnyx")


MAKERS: dict[str, Callable[[Path], Corpus]] = {
    "code": code_corpus,
    "text": text_corpus,
    "image": image_corpus,
    "audio": audio_corpus,
    "video": video_corpus,
}


def make_corpus(modality: str, dest: Path) -> Corpus:
    """The demo corpus of ``modality`` written under ``dest``."""
    try:
        return MAKERS[modality](dest)
    except KeyError:
        raise InvalidInputError(f"no demo corpus for modality {modality!r}") from None
