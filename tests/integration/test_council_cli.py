"""The Council through the real CLI and a real `pnyx up`: key generate, signed vote over --url,
the council worker closing a due resolution, list and verify over --url."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx
import pytest
from pnyx_server import Server, cli_env, run_cli, run_json

from pnyx.services.demo_council import run_council_demo
from pnyx.services.setup import build_context
from pnyx.settings import Settings
from pnyx.store.db import url_for_data_dir


@pytest.mark.slow
def test_vote_over_url_worker_closes_and_recount_matches(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ctx = build_context(Settings(data_dir=data, db_url=url_for_data_dir(data)))
    run_council_demo(ctx)
    ctx.db.dispose()
    env, store = cli_env(), ["--data", str(data)]
    key_file = tmp_path / "de.pem"
    public = run_json(["key", "generate", "--out", str(key_file)], env)["public_key"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    run_cli(["key", "register", "de-delegate", public, *store], env)
    token = run_json(["token", "issue", "de-delegate", *store], env)["token"]
    payload = tmp_path / "shares.json"
    payload.write_text(json.dumps({"shares": {"open-models": 1}}))
    propose = ["council", "propose", "set-programme-shares", "--payload", str(payload)]
    propose += ["--title", "All to open models", "--voting-s", "15", "--rule", "simple-majority"]
    server = Server(store, env, tmp_path / "server.log")
    try:
        rid = run_json([*propose, "--url", server.url, "--token", token], env)["resolution_id"]
        vote = ["council", "vote", rid, "--member", "de", "--choice", "yes", "--key"]
        ballot = run_json([*vote, str(key_file), "--url", server.url, "--token", token], env)
        assert ballot["principal_id"] == "de-delegate"
        wrong = run_cli(
            [*vote, str(key_file), "--member", "fr", "--url", server.url, "--token", token],
            env,
            check=False,
        )
        assert wrong.returncode == 1 and "not of fr" in wrong.stderr
        status = wait_closed(server.url, rid)
        assert status == "failed"  # 1 of 9 members voted: no quorum
        listed = run_json(["council", "list", "--url", server.url], env)
        assert [r["status"] for r in listed] == ["passed", "failed", "passed", "failed"]
        for r in listed:
            done = run_cli(["council", "verify", r["resolution_id"], "--url", server.url], env)
            assert "recounted from the record" in done.stdout
    finally:
        server.stop()


def wait_closed(url: str, rid: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = str(httpx.get(f"{url}/api/v1/council/resolutions/{rid}").json()["status"])
        if status != "open":
            return status
        time.sleep(0.3)
    raise AssertionError(f"{rid} still open after {timeout_s} s")
