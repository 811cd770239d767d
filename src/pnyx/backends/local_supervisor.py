"""The per-job supervisor of the local backend, run as ``python -I -S local_supervisor.py JOB_DIR``.

It is a stdlib-only script (it never imports pnyx) so that it keeps working when the pnyx process
that started it dies. It starts the job's argv in a process group of its own, enforces the time
limit (checkpoint signal ``grace_s`` before it, SIGTERM at it, SIGKILL ``kill_grace_s`` later),
turns a SIGTERM sent to itself (or a ``cancel`` file written before it started) into a
cancellation of the job, kills whatever the job left behind
when it ends, and finally writes ``exit.json`` atomically: the exit code survives pnyx.

Files in JOB_DIR: ``run.json`` (input), ``supervisor.json`` (its own pid and start ticks),
``job.json`` (the job's process group and start time), ``output.log``, ``exit.json`` (outcome).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def read_small(path: str) -> bytes | None:
    """The contents of a small file, None when it is missing (plain os calls: no pathlib)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 1 << 20)
    finally:
        os.close(fd)


def start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (/proc/PID/stat field 22), None if gone."""
    stat = read_small(f"/proc/{pid}/stat")
    if stat is None:
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically and durably (temporary file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class Supervisor:
    """Runs one job to its end and records how it ended."""

    def __init__(self, job_dir: Path) -> None:
        self.dir = job_dir
        self.run = json.loads((job_dir / "run.json").read_text())
        self.cancelled = False
        self.timed_out = False
        self.kill_at: float | None = None
        self.checkpoint_sent = False
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, lambda *_: None)

    def _on_term(self, signum: int, frame: object) -> None:
        del signum, frame
        self.cancelled = True

    def main(self) -> int:
        """Start the job, watch it, write exit.json; the supervisor's own exit status is 0."""
        me = os.getpid()
        write_json(self.dir / "supervisor.json", {"pid": me, "start_ticks": start_ticks(me)})
        start = time.time()
        if (self.dir / "cancel").exists():  # cancelled before the job could start
            self.cancelled = True
            self._finish(start, 0, "cancelled before start", started=False)
            return 0
        with (self.dir / "output.log").open("ab") as log:
            try:
                child = subprocess.Popen(
                    self.run["argv"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.run["env"],
                    cwd=self.run.get("workdir") or None,
                    process_group=0,
                )
            except OSError as e:
                log.write(f"pnyx: could not start {self.run['argv'][0]}: {e}\n".encode())
                self._finish(start, 127, f"could not start: {e}", started=False)
                return 0
        info = {"pgid": child.pid, "start_ticks": start_ticks(child.pid), "start_time": start}
        write_json(self.dir / "job.json", info)
        returncode = self._watch(child, start)
        self._kill_group(child.pid, signal.SIGKILL)  # whatever the job left behind
        self._finish(start, returncode, "", started=True)
        return 0

    def _watch(self, child: subprocess.Popen[bytes], start: float) -> int:
        limit = start + float(self.run["time_limit_s"])
        while True:
            returncode = child.poll()
            if returncode is not None:
                return returncode
            now = time.time()
            self._enforce(child.pid, now, limit)
            deadlines = [limit, limit - float(self.run["grace_s"])]
            if self.kill_at is not None:
                deadlines.append(self.kill_at)
            timeout = min([5.0, *[d - now for d in deadlines if d > now]])
            try:
                ready, _, _ = select.select([self.wake_r], [], [], max(timeout, 0.01))
            except InterruptedError:  # pragma: no cover - PEP 475 retries select
                ready = []
            if ready:
                os.read(self.wake_r, 4096)

    def _enforce(self, pgid: int, now: float, limit: float) -> None:
        ckpt = self.run.get("checkpoint_signal")
        if ckpt and not self.checkpoint_sent and now >= limit - float(self.run["grace_s"]):
            self.checkpoint_sent = True
            self._kill_group(pgid, int(ckpt))
        if (self.cancelled or now >= limit) and self.kill_at is None:
            self.timed_out = not self.cancelled
            self.kill_at = now + float(self.run["kill_grace_s"])
            self._kill_group(pgid, signal.SIGTERM)
        if self.kill_at is not None and now >= self.kill_at:
            self._kill_group(pgid, signal.SIGKILL)

    @staticmethod
    def _kill_group(pgid: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)

    def _finish(self, start: float, returncode: int, reason: str, *, started: bool) -> None:
        outcome = {
            "started": started,
            "returncode": returncode,
            "start_time": start,
            "end_time": time.time(),
            "cancelled": self.cancelled,
            "timed_out": self.timed_out,
            "reason": reason,
        }
        write_json(self.dir / "exit.json", outcome)


if __name__ == "__main__":
    sys.exit(Supervisor(Path(sys.argv[1])).main())
