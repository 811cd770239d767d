"""Build hook for the optional native build of pnyx (metadata lives in pyproject.toml).

``PNYX_NATIVE=1`` compiles the scheduling core (``pnyx.sched``), the simulator's event
engine and its replay with mypyc: the same Python source, type-checked by mypy --strict,
turned into C extension modules (what mypy and black ship). Decisions are the same as the
interpreted build's (tests/native checks it on reference simulations); only speed differs.
Without the variable nothing is compiled. ``make native`` builds it into the source tree.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
NATIVE_MODULES = [
    *sorted(p.relative_to(HERE).as_posix() for p in (HERE / "src/pnyx/sched").glob("*.py")),
    "src/pnyx/sim/engine.py",
    "src/pnyx/sim/replay.py",
]
"""The modules compiled: everything the simulator runs per job (the core, the event engine,
and the replay that builds each job's request at its submission)."""

BUILD_REQUIRES = ["mypy==2.4.1", "numpy==2.4.6"]
"""mypyc ships with mypy (the pins of pyproject.toml); numpy's types are part of the type check."""
BUILD_COMMANDS = {"build_ext", "bdist_wheel", "editable_wheel", "build", "develop", "install"}
"""setup.py commands that compile; metadata commands (egg_info, dist_info) do not."""


def native() -> bool:
    """Whether this build compiles (``PNYX_NATIVE=1``); any other value but 0/unset is an error."""
    value = os.environ.get("PNYX_NATIVE", "0")
    if value not in ("0", "1"):
        raise SystemExit(f"PNYX_NATIVE must be 0 or 1, got {value!r}")
    return value == "1"


def native_extensions() -> list[object]:
    """The mypyc extension modules, or none for the plain build."""
    if not native() or not BUILD_COMMANDS.intersection(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        raise SystemExit(f"PNYX_NATIVE=1 needs mypyc: pip install {BUILD_REQUIRES[0]}") from None

    os.chdir(HERE)  # mypyc names modules from paths relative to the working directory
    # mypy's own configuration (pyproject.toml) loads the pydantic plugin, which the
    # compiled modules do not need and an isolated build environment does not have
    options = ["--config-file=", "--strict"]  # "": no configuration file
    return list(mypycify([*options, *NATIVE_MODULES], opt_level="3", group_name="pnyx_native"))


setup(
    ext_modules=native_extensions(),
    # PEP 517 asks for build requirements through egg_info (setuptools.build_meta)
    setup_requires=BUILD_REQUIRES if native() and "egg_info" in sys.argv else [],
)
