"""Which build of pnyx is running, and a guard against stale compiled modules.

``make native`` (``PNYX_NATIVE=1``, setup.py) compiles the scheduling core and the
simulator's engine with mypyc into extension modules next to their sources; Python then
imports the extension, not the source. In a source checkout, an extension older than its
source would silently run yesterday's code, so importing pnyx refuses it and says how to
rebuild. Installed wheels are not checked (their files carry install times, not build times).
"""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
COMPILED_PACKAGES = ("sched", "sim")
"""Where the native build puts extension modules (setup.py NATIVE_MODULES)."""


def compiled_modules() -> dict[Path, Path]:
    """Extension modules of the native build found next to their sources: extension -> source."""
    found: dict[Path, Path] = {}
    for package in COMPILED_PACKAGES:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            for extension in (PACKAGE_DIR / package).glob(f"*{suffix}"):
                source = extension.with_name(extension.name.removesuffix(suffix) + ".py")
                if source.exists():
                    found[extension] = source
    return found


def build_name() -> str:
    """``native`` when the scheduling core runs compiled, else ``interpreted``."""
    from pnyx.sched.records import NATIVE

    return "native" if NATIVE else "interpreted"


def check_source_tree() -> None:
    """In a source checkout, refuse compiled modules older than their sources."""
    if not (PACKAGE_DIR.parent.parent / "setup.py").exists():
        return  # an installed package: nothing to compare
    stale = sorted(
        str(source.relative_to(PACKAGE_DIR.parent))
        for extension, source in compiled_modules().items()
        if source.stat().st_mtime > extension.stat().st_mtime
    )
    if stale:
        raise ImportError(
            f"pnyx's native build is older than {', '.join(stale)}: rebuild it with "
            "`make native`, or remove it with `make native-clean` to run the sources"
        )


TREE_FILES = ("setup.py", "pyproject.toml", "README.md", "LICENSE")
"""What a native build needs besides src/ (setuptools reads the metadata)."""


def copy_source_tree(root: Path, to: Path) -> Path:
    """Copy a checkout's build files and src/ (without compiled modules or caches) to ``to``;
    returns the copy's src/ (for tests and benchmarks that compare the two builds)."""
    to.mkdir(parents=True)
    for name in TREE_FILES:
        shutil.copy2(root / name, to / name)
    shutil.copytree(root / "src", to / "src", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return to / "src"


def build_in_place(tree: Path, timeout_s: float = 1800) -> subprocess.CompletedProcess[str]:
    """Make the native build inside a source tree (``make native``'s command)."""
    return subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace", "--force"],
        cwd=tree,
        env={**os.environ, "PNYX_NATIVE": "1"},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
