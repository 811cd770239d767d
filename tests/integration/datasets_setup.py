"""Small demo corpora (open data found on this machine) shared by the dataset tests."""

from __future__ import annotations

from pathlib import Path

from pnyx.data.corpora import (
    Corpus,
    audio_corpus,
    code_corpus,
    image_corpus,
    text_corpus,
    video_corpus,
)

SMALL_BYTES = 60_000


def small_corpora(root: Path) -> dict[str, Corpus]:
    """One small corpus per modality under ``root`` (a few hundred KB in all)."""
    return {
        "code": code_corpus(root / "code", SMALL_BYTES),
        "text": text_corpus(root / "text", 100_000),
        "image": image_corpus(root / "image", 120_000),
        "audio": audio_corpus(root / "audio", ("One open sentence.", "Another one.")),
        "video": video_corpus(root / "video", clips=2),
    }
