"""Media header facts: PNG, JPEG, GIF sizes; WAV rate and duration; Y4M frames."""

from __future__ import annotations

import io
import struct
import wave
import zlib

import pytest

from pnyx.data.corpora import y4m_pattern
from pnyx.data.media import audio_info, image_info, video_info
from pnyx.errors import InvalidInputError


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def wav(rate: int, frames: int, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * frames * channels)
    return buf.getvalue()


def test_image_sizes() -> None:
    assert image_info(png(7, 3)) == {"format": "png", "width": 7, "height": 3}
    assert image_info(jpeg_header(640, 480)) == {"format": "jpeg", "width": 640, "height": 480}
    gif = b"GIF89a" + struct.pack("<HH", 5, 9) + b"\x00" * 10
    assert image_info(gif) == {"format": "gif", "width": 5, "height": 9}
    with pytest.raises(InvalidInputError, match="not a PNG, JPEG or GIF"):
        image_info(b"BM not supported")
    with pytest.raises(InvalidInputError, match="SOF"):
        image_info(b"\xff\xd8\xff\xd9")


def test_audio_rate_and_duration() -> None:
    info = audio_info(wav(16000, 8000, channels=2))
    assert info == {"format": "wav", "sample_rate_hz": 16000, "channels": 2, "frames": 8000,
                    "duration_ms": 500}  # fmt: skip
    with pytest.raises(InvalidInputError, match="not a PCM WAV"):
        audio_info(b"RIFF....WAVEjunk")


def test_video_frames() -> None:
    info = video_info(y4m_pattern(width=16, height=8, frames=6, fps=3))
    assert info == {"format": "y4m", "width": 16, "height": 8, "fps": "3:1", "frames": 6,
                    "duration_ms": 2000}  # fmt: skip
    with pytest.raises(InvalidInputError, match="truncated"):
        video_info(y4m_pattern(frames=2)[:-5])
    with pytest.raises(InvalidInputError, match="not a YUV4MPEG2"):
        video_info(b"\x00\x00\x00\x18ftypmp42")
