"""`inferplan profile`, `plan` and `run --plan` through a REAL OpenAI-compatible server.

The server is llama-cpp-python's own, on the embedded model, on 127.0.0.1. It is
killed in the middle of a profile (exit code 5, one line), restarted on the same
port, and the same command resumes with no record lost or duplicated.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from inferplan.backends.embedded import embedded_model_path
from inferplan.profiles.store import iter_records, read_header
from servers import LlamaServer

pytestmark = pytest.mark.slow

PROBLEMS, TEMPS, SAMPLES = 6, ("0.0", "0.8"), 3
TOTAL = PROBLEMS * len(TEMPS) * SAMPLES


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("server") / "server.log"
    with LlamaServer(embedded_model_path(), log=log) as s:
        yield s


def _profile_args(url: str, out: Path) -> list[str]:
    return ["profile", "--model", url, "--tasks", f"builtin:arith:{PROBLEMS}", "--temperatures", ",".join(TEMPS),
            "-n", str(SAMPLES), "--max-tokens", "8", "--parallel", "2", "-o", str(out), "--json"]


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_profile_survives_server_death_and_resumes(cli, server: LlamaServer, tmp_path: Path) -> None:
    out = tmp_path / "server.profile.jsonl"
    killed = threading.Event()

    def kill_after_some_records() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if len(_lines(out)) >= 1 + 4:  # header + a few flushed samples
                server.kill()
                killed.set()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_after_some_records, daemon=True)
    watcher.start()
    r = cli(*_profile_args(server.url, out))
    watcher.join(timeout=5)
    assert killed.is_set(), "the profile finished before the server could be stopped"
    assert r.code == 5, (r.code, r.err)
    message = [line for line in r.err.splitlines() if line.strip() and "Traceback" not in line]
    assert any(server.url in line for line in message) and "Traceback" not in r.err
    before = _lines(out)
    assert 5 <= len(before) < 1 + TOTAL

    server.restart()  # same port, so the profile's backend identity matches
    r = cli(*_profile_args(server.url, out))
    assert r.code == 0, r.err
    after = _lines(out)
    assert after[: len(before)] == before  # nothing written earlier was lost or rewritten
    records = list(iter_records(out))
    keys = Counter((rec["problem"], rec["config"], rec["index"]) for rec in records)
    assert len(records) == TOTAL and max(keys.values()) == 1  # none lost, none duplicated
    header = read_header(out)
    assert header["backend"]["name"] == "openai"
    assert header["backend"]["settings"]["base_url"] == server.url
    assert "Authorization" not in json.dumps(header)


def test_profile_plan_and_run_plan_through_server(cli, server: LlamaServer, tmp_path: Path) -> None:
    profile = tmp_path / "p.jsonl"
    r = cli(*_profile_args(server.url, profile))
    assert r.code == 0, r.err
    plan = tmp_path / "plan.json"
    r = cli("plan", profile, "--budget", "3", "--unit", "samples", "--holdout", "0.34", "-o", plan, "--json")
    assert r.code == 0, r.err
    queries = tmp_path / "q.jsonl"
    queries.write_text("".join(json.dumps({"id": f"q{i}", "question": q}) + "\n"
                               for i, q in enumerate(["What is 2 + 3?", "What is 9 - 4?"])))
    r = cli("run", "--plan", plan, "--input", queries, "--model", server.url, "--parallel", "2", "--json",
            "--no-timing")
    assert r.code == 0, r.err
    results = r.json_lines()
    assert [x["id"] for x in results] == ["q0", "q1"]
    for x in results:
        assert x["samples"] >= 1 and "answer" in x
