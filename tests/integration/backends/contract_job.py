"""The job every contract test runs: one small Python program driven by a JSON scenario.

Real backends run it as ``python3 -c PROGRAM SCENARIO``; the fake reads the same scenario
(:func:`fake_program`) and plays it in memory, so both are held to the same behaviour. The
program prints its output, the environment variables asked for, ``pid=N`` for itself and each
child it spawns (a ``sleep``), then runs for ``duration_s`` (forever when null) and exits with
``exit_code``; each trapped signal prints its line instead of ending it.
"""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass, field

from pnyx.backends.base import JobSpec
from pnyx.backends.fake import FakeProgram

PROGRAM = """
import json, os, signal, subprocess, sys, time
s = json.loads(sys.argv[1])
def say(text):
    print(text, flush=True)
for name, text in s["traps"].items():
    signal.signal(getattr(signal, "SIG" + name), lambda *_, t=text: say(t))
say(s["output"])
for name in s["print_env"]:
    say(name + "=" + os.environ.get(name, "<unset>"))
say("pid=%d" % os.getpid())
for _ in range(s["children"]):
    say("pid=%d" % subprocess.Popen(["sleep", "600"]).pid)
end = None if s["duration_s"] is None else time.monotonic() + s["duration_s"]
while end is None or time.monotonic() < end:
    time.sleep(0.05)
sys.exit(s["exit_code"])
"""


@dataclass(frozen=True)
class Scenario:
    """What the contract job does (see the module docstring)."""

    output: str
    duration_s: float | None = 0.5
    exit_code: int = 0
    print_env: tuple[str, ...] = ()
    traps: dict[str, str] = field(default_factory=dict)  # "USR1" -> line printed on it
    children: int = 0

    def command(self) -> tuple[str, ...]:
        """argv running this scenario."""
        return ("python3", "-c", PROGRAM, json.dumps(asdict(self)))


def fake_program(spec: JobSpec) -> FakeProgram:
    """The FakeBackend's reading of a contract job (any other command: one second, exit 0)."""
    if len(spec.command) != 4 or spec.command[2] != PROGRAM:
        return FakeProgram()
    s = json.loads(spec.command[3])
    return FakeProgram(
        duration_s=s["duration_s"],
        exit_code=s["exit_code"],
        output=s["output"],
        print_env=tuple(s["print_env"]),
        traps={int(signal.Signals["SIG" + name]): text for name, text in s["traps"].items()},
        children=s["children"],
    )
