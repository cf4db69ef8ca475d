"""`inferplan run` end to end: real app in-process, real engine, real embedded model."""

from __future__ import annotations

import io
import json

import pytest

FAST = ("--max-tokens", "32", "--parallel", "8", "--ctx", "512")


@pytest.mark.slow  # loads the embedded model
def test_run_prints_voted_answer_with_counts(cli):
    r = cli("run", "What is 17 + 25?", "-n", "8", *FAST)
    assert r.code == 0, r.err
    assert "Answer:" in r.out and "/8 votes" in r.out
    assert "votes" in r.out and "share" in r.out  # the vote table
    assert "8 samples" in r.out and "completion tokens" in r.out
    assert "Traceback" not in r.err


@pytest.mark.slow  # loads the embedded model
def test_json_fields_and_show_samples(cli):
    r = cli("run", "What is 17 + 25?", "-n", "4", "--json", "--show-samples", *FAST)
    assert r.code == 0, r.err
    obj = r.json()
    for key in ("id", "answer", "votes", "samples", "completion_tokens", "prompt_tokens", "seconds", "stop_reason"):
        assert key in obj
    assert obj["samples"] == 4 and obj["stop_reason"] == "fixed" and obj["id"] == 1
    assert len(obj["texts"]) == 4 and len(obj["sample_details"]) == 4
    assert sum(obj["votes"].values()) <= 4
    if obj["answer"] is not None:
        assert obj["votes"][obj["answer"]] == max(obj["votes"].values())
    assert obj["completion_tokens"] > 0 and obj["prompt_tokens"] > 0


@pytest.mark.slow  # loads the embedded model
def test_same_seed_byte_identical_other_seed_differs(cli):
    args = ("run", "Write one sentence about the sea.", "-n", "3", "--json", "--no-timing",
            "--show-samples", "--temperatures", "0.7,1.0", *FAST)
    a, b = cli(*args, "--seed", "5"), cli(*args, "--seed", "5")
    assert a.code == b.code == 0
    assert a.out == b.out and a.out.strip()
    c = cli(*args, "--seed", "6")
    assert c.json()["texts"] != a.json()["texts"]


@pytest.mark.slow  # loads the embedded model
def test_input_file_many_prompts_in_order(cli, tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text("\n".join([
        json.dumps({"id": "a", "question": "What is 2 + 3?", "answer": "5"}),
        json.dumps({"id": "b", "messages": [{"role": "user", "content": "What is 10 - 4?"}]}),
        "",
        json.dumps({"input": "What is 6 * 7?", "target": "42"}),
    ]))
    r = cli("run", "--input", str(f), "-n", "2", "--json", *FAST)
    assert r.code == 0, r.err
    rows = r.json_lines()
    assert [row["id"] for row in rows] == ["a", "b", 4]
    assert all(row["samples"] == 2 for row in rows)


@pytest.mark.slow  # loads the embedded model
def test_stdin_one_prompt_per_line(cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("What is 1 + 1?\n\nWhat is 2 + 2?\n"))
    r = cli("run", "-", "-n", "2", "--json", *FAST)
    assert r.code == 0, r.err
    assert [row["id"] for row in r.json_lines()] == [1, 2]


@pytest.mark.parametrize("args, code, message", [
    (("run", "hi", "-n", "0"), 3, "-n must be at least 1"),
    (("run", "hi", "--temperatures", "0.5,-1"), 3, "temperatures must be >= 0"),
    (("run", "hi", "--temperatures", "hot"), 3, "--temperatures must be"),
    (("run", "   "), 3, "prompt 1 is empty"),
    (("run",), 3, "nothing to run"),
    (("run", "hi", "--model", "/no/such/model.gguf"), 4, "model file not found"),
    (("run", "hi", "--extract", "magic"), 3, "unknown extractor"),
    (("run", "hi", "--weights", "f16", "--model", "http://127.0.0.1:9/v1"), 3, "applies to llama.cpp GGUF models only"),
    (("run", "hi", "--weights", "fp8"), 3, "--weights must be one of"),
])
def test_errors_one_line_exit_code(cli, args, code, message):
    r = cli(*args)
    assert r.code == code, (r.code, r.err)
    assert message in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_non_gguf_model_and_malformed_line(cli, tmp_path):
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model at all")
    r = cli("run", "hi", "--model", str(bogus))
    assert r.code == 4 and "not a GGUF model file" in r.err and "Traceback" not in r.err
    f = tmp_path / "bad.jsonl"
    f.write_text('{"prompt": "ok"}\n{"prompt": "oops"\n')
    r = cli("run", "--input", str(f))
    assert r.code == 3 and f"{f}:2:" in r.err and "Traceback" not in r.err
    f.write_text('{"prompt": "ok"}\n{"text": "no prompt field"}\n')
    r = cli("run", "--input", str(f))
    assert r.code == 3 and f"{f}:2: needs one of" in r.err


@pytest.mark.slow  # loads the embedded model
def test_gpu_layers_on_a_cpu_build_says_the_model_runs_on_the_cpu(cli):
    import llama_cpp

    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama-cpp-python build offloads to a GPU")
    result = cli("run", "What is 2+3?", "-n", "2", "--max-tokens", "4", "--gpu-layers", "99", "--json")
    assert result.code == 0, result.err
    assert "--gpu-layers 99 ignored: this llama-cpp-python build cannot offload to a GPU" in result.err
    assert json.loads(result.out)["samples"] == 2


@pytest.mark.parametrize("args, message", [
    (("run", "hi", "--weights", "fp8"), "--weights must be one of"),
    (("run", "hi", "--kv-cache", "shared"), "--kv-cache must be one of"),
    (("run", "hi", "--parallel", "0"), "--parallel must be"),
    (("run", "hi", "--thinking-cut", "server"), "--thinking-cut must be one of"),
    (("profile", "--tasks", "builtin:arith:2", "--weights", "fp8"), "--weights must be one of"),
])
def test_bad_backend_settings_are_refused_before_the_machine_is_probed(cli, monkeypatch, tmp_path, args, message):
    """Issue 28: on a busy machine `run hi --weights fp8` printed the thread-probe warning before its error.
    Here every core looks busy; a bad setting must be refused first, with one line, probe untouched."""
    from inferplan.backends.llamacpp import threads

    probed = []
    monkeypatch.setattr(threads, "busy_cores", lambda window=0: probed.append(1) or float(threads.usable_cores()))
    r = cli(*args, *(("-o", tmp_path / "p.jsonl") if args[0] == "profile" else ()))
    assert r.code == 3, (r.code, r.err)
    assert message in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert not probed
