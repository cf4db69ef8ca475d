"""Cascade plans end to end on real backends (issue 31), one test per backend pairing.

Two GGUFs in-process (the embedded model copied as small.gguf and big.gguf: two model files,
the same weights), and a GGUF in-process beside a llama-cpp-python server this file starts.
Each pairing is profiled on the same few built-in problems, planned across models
(``policy="cascade"``), saved, and run through the CLI; the first stage's accept share is
raised where needed so that some queries escalate. A plan whose model is not there fails in
one line before any work starts, and a model no query reaches is never opened.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

import inferplan as ip
from inferplan.backends import open_backend
from inferplan.backends.embedded import embedded_model_path
from inferplan.errors import InputError, ModelError
from inferplan.planner.plan_file import Escalation, Plan, PlanModel, load_plan, save_plan
from inferplan.policy.stopping import make_rule
from inferplan.profiles.profile import Profile
from inferplan.runner.cascade_runner import run_cascade
from inferplan.runner.queries import as_queries
from servers import LlamaServer

pytestmark = pytest.mark.slow

TASKS = "builtin:arith:12"
QUESTIONS = ["What is 2 + 2?", "What is 17 + 25?", "What is 9 × 7?", "What is 81 - 39?", "What is 6 + 13?",
             "What is 12 × 11?"]
FLOPS = dict(unit="flops", budget=1e12)  # per-model parameters make the first model the cheap one


def _profile(spec: str, out: Path) -> Path:
    ip.profile(spec, out=out, tasks=TASKS, temperatures=(0.7,), samples=4, max_tokens=48)
    return out


def _cascade(profiles: list[Path], parameters: dict[str, float]) -> Plan:
    r = ip.plan_models(profiles, parameters=parameters, policy="cascade", **FLOPS)
    assert r.kind == "cascade" and r.plan.escalate is not None
    assert [s.model.label for s in r.plan.stages] == list(parameters)  # cheap first, dear second
    return r.plan


def _escalating(plan: Plan) -> Plan:
    """The same cascade, its first stage drawing 3 and standing only on a unanimous vote: some escalate."""
    return replace(plan, rule=make_rule("fixed", (3,)), escalate=Escalation(1.0, plan.escalate.plan))


def _never_escalating(plan: Plan) -> Plan:
    """The same cascade, its first stage's single sample standing whenever it answers."""
    return replace(plan, rule=make_rule("fixed", (1,)), escalate=Escalation(0.5, plan.escalate.plan))


def _check_stages(lines: list[dict], first: str, second: str) -> int:
    """Every query's stages read right; how many escalated."""
    assert len(lines) == len(QUESTIONS)
    escalated = 0
    for d in lines:
        stages = d["stages"]
        assert stages and stages[0]["model"] == first and stages[0]["samples"] == 3
        assert d["answer"] is not None and d["model"] == stages[-1]["model"]
        if stages[0]["stood"]:
            assert len(stages) == 1 and d["answer"] == stages[0]["answer"]
        else:
            escalated += 1
            assert len(stages) == 2 and stages[1]["model"] == second and stages[1]["stood"]
            assert d["answer"] == stages[1]["answer"] and d["votes"] == stages[1]["votes"]
        assert d["samples"] == sum(s["samples"] for s in stages)
        assert d["completion_tokens"] + d["wasted_tokens"] == sum(s["completion_tokens"] for s in stages)
        assert d["wasted_tokens"] == sum(s["wasted_tokens"] for s in stages)  # each stage's own, as one model's
        assert sum(d["votes"].values()) <= stages[-1]["samples"]  # votes are the answering stage's
    return escalated


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """small.gguf and big.gguf, each profiled on the same problems, and their cascade plan."""
    work = tmp_path_factory.mktemp("ggufs")
    small, big = work / "small.gguf", work / "big.gguf"
    shutil.copyfile(embedded_model_path(), small)
    shutil.copyfile(embedded_model_path(), big)
    profiles = [_profile(str(small), work / "small.jsonl"), _profile(str(big), work / "big.jsonl")]
    plan = _cascade(profiles, {"small.gguf": 1.35e8, "big.gguf": 1.35e9})
    return {"small": small, "big": big, "work": work,
            "plan": save_plan(_escalating(plan), work / "casc.json"),
            "calm": save_plan(_never_escalating(plan), work / "calm.json")}


def test_two_ggufs_in_process_run_and_evaluate(cli, ggufs) -> None:
    r = cli("run", "--plan", ggufs["plan"], *QUESTIONS, "--json", "--no-timing")
    assert r.code == 0, r.err
    escalated = _check_stages(r.json_lines(), "small.gguf", "big.gguf")
    assert escalated >= 1  # unanimity of 3 samples at T = 0.7 on a 135M model: not for every question

    r = cli("evaluate", "--plan", ggufs["plan"], "--limit", "4", "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert d["escalation"]["stages"] == ["small.gguf", "big.gguf"]
    assert 0 <= d["escalation"]["realised"] <= 1 and d["escalation"]["predicted"] is not None


def test_evaluate_charges_the_flops_the_plan_was_made_with(cli, ggufs) -> None:
    """Planned with --params that are not the GGUFs' own count (135M each): evaluate charges every
    stage's tokens with the plan's parameters, read from its model blocks, not from the model file."""
    work, planned = ggufs["work"], {"small.gguf": 1e9, "big.gguf": 1e10}
    args = [a for m, n in planned.items() for a in ("--params", f"{m}={n:g}")]
    r = cli("plan", work / "small.jsonl", work / "big.jsonl", "--unit", "flops", "--budget", "1e13",
            "--policy", "cascade", *args, "-o", work / "params.json", "--force")
    assert r.code == 0, r.err
    plan = load_plan(work / "params.json")
    assert [s.model.parameters for s in plan.stages] == [1e9, 1e10]
    path = save_plan(_escalating(plan), work / "params-escalating.json")
    result = ip.evaluate(path, limit=4)
    spent = [0.0, 0.0]
    for q in result.results:
        for k, part in enumerate(q.stages):  # 2 FLOPs per parameter per token, the prompt once per query
            prompt = part.prompt_tokens if Profile.open(plan.stages[k].profile).header.shared_prefix else \
                part.prompt_tokens * part.samples
            spent[k] += 2 * (1e9, 1e10)[k] * (part.completion_tokens + prompt) / len(result.results)
    assert spent[0] > 0
    assert dict(result.by_model) == {"small.gguf": pytest.approx(spent[0]), "big.gguf": pytest.approx(spent[1])}
    assert result.realised.cost.point == pytest.approx(sum(spent))


def test_a_verifier_cascade_escalates_exactly_the_queries_its_first_stage_did_not_pass(ggufs) -> None:
    """Under a verifier (--aggregate oracle; the grader accepts a sample) a stage's answer stands
    when a sample passed: evaluated for real, a query escalates to the second model exactly when
    none of its first-stage samples passed, and it is right exactly when some stage's sample passed."""
    work = ggufs["work"]
    r = ip.plan_models([work / "small.jsonl", work / "big.jsonl"], parameters={"small.gguf": 1.35e8,
                                                                              "big.gguf": 1.35e9},
                       policy="cascade", aggregate="oracle", **FLOPS)
    assert r.kind == "cascade" and r.plan.aggregation.first_pass and r.plan.escalate.accept_share is None
    assert r.cascade.cascade.stages[0].verified and "stands if verified" in r.cascade.cascade.spec
    plan = replace(r.plan, rule=make_rule("fixed", (1,)))  # one first-stage sample: a 135M model fails some
    path = save_plan(plan, work / "verified.json")
    assert load_plan(path).cascade.stages[0].verified  # the plan file keeps what the stage stands on
    voting = json.loads(path.read_text())
    voting["aggregation"] = {"kind": "vote"}  # a stage with no accept share cannot stand on a vote
    (work / "voting.json").write_text(json.dumps(voting))
    with pytest.raises(InputError, match=r"voting\.json: a cascade stage without an accept share"):
        load_plan(work / "voting.json")
    result = ip.evaluate(path, tasks="builtin:arith:30")
    escalated = 0
    for q, right in zip(result.results, result.correct):
        first = q.stages[0]
        assert first.model == "small.gguf" and first.samples == 1
        if first.stood:  # its one sample passed: the answer is the small model's, and right
            assert len(q.stages) == 1 and right
        else:
            escalated += 1
            assert len(q.stages) == 2 and q.stages[1].model == "big.gguf" and q.stages[1].stood
            assert right == (q.answer is not None)  # the last stage's answer is a sample that passed, or none
    assert 0 < escalated < len(result.results)  # some first samples passed and stood, some did not


def test_three_ggufs_in_process_run_and_evaluate(cli, ggufs) -> None:
    """A three-stage cascade (small → mid → big, each stage unanimous of 3 or escalate) runs stage by
    stage: a query reaches the third model only when both earlier ones escalated it."""
    work = ggufs["work"]
    mid = work / "mid.gguf"
    shutil.copyfile(embedded_model_path(), mid)
    profile = _profile(str(mid), work / "mid.jsonl")
    head = _escalating(_cascade([work / "small.jsonl", profile], {"small.gguf": 1.35e8, "mid.gguf": 5e8}))
    tail = _escalating(_cascade([profile, work / "big.jsonl"], {"mid.gguf": 5e8, "big.gguf": 1.35e9}))
    plan = replace(head, escalate=Escalation(1.0, tail))
    assert [s.model.label for s in plan.stages] == ["small.gguf", "mid.gguf", "big.gguf"]
    path = save_plan(plan, work / "casc3.json")
    r = cli("run", "--plan", path, *QUESTIONS, "--json", "--no-timing")
    assert r.code == 0, r.err
    reached = [len(d["stages"]) for d in r.json_lines()]
    for d in r.json_lines():
        stages = d["stages"]
        assert [s["model"] for s in stages] == ["small.gguf", "mid.gguf", "big.gguf"][:len(stages)]
        assert [s["stood"] for s in stages[:-1]] == [False] * (len(stages) - 1)
        assert stages[-1]["stood"] and d["model"] == stages[-1]["model"] and d["answer"] == stages[-1]["answer"]
        assert all(s["samples"] == 3 for s in stages[:2]) and d["samples"] == sum(s["samples"] for s in stages)
    assert max(reached) == 3  # unanimity of 3 at T = 0.7 twice over: some questions go all the way

    r = cli("evaluate", "--plan", path, "--limit", "4", "--json")
    assert r.code == 0, r.err
    assert r.json()["escalation"]["stages"] == ["small.gguf", "mid.gguf", "big.gguf"]


def test_a_model_that_is_not_there_fails_in_one_line_before_any_work(cli, ggufs, tmp_path) -> None:
    gone = tmp_path / "big.gguf"
    shutil.copyfile(ggufs["big"], gone)
    plan = load_plan(ggufs["calm"])  # no query would reach the second model: it is still checked first
    second = plan.escalate.plan
    moved = replace(plan, escalate=Escalation(0.5, replace(second, model=PlanModel(str(gone), second.model.sha256))))
    path = save_plan(moved, tmp_path / "moved.json")
    gone.unlink()
    start = time.monotonic()
    r = cli("run", "--plan", path, *QUESTIONS, "--json")
    assert r.code == 4 and r.out == ""
    assert time.monotonic() - start < 10  # nothing loaded, nothing sampled
    (line,) = [x for x in r.err.splitlines() if x.strip()]
    assert "big.gguf" in line and "Traceback" not in r.err

    opened: list[str] = []  # through the API: the first model is not opened either
    with pytest.raises(ModelError, match="big.gguf"):
        run_cascade(as_queries(QUESTIONS), moved, open_model=lambda spec, s: opened.append(spec) or open_backend(spec, s))
    assert opened == []


def test_a_model_no_query_reaches_is_never_opened(ggufs) -> None:
    opened: list[str] = []

    def counting_open(spec, settings):
        opened.append(Path(spec).name)
        return open_backend(spec, settings)

    results = run_cascade(as_queries(QUESTIONS), load_plan(ggufs["calm"]), open_model=counting_open)
    assert all(len(r.stages) == 1 and r.stages[0].stood for r in results)
    assert all(r.model == "small.gguf" and r.answer is not None for r in results)
    assert opened == ["small.gguf"]


def test_model_name_equals_spec_replaces_one_stage(cli, ggufs, tmp_path) -> None:
    other = tmp_path / "other.gguf"
    shutil.copyfile(ggufs["big"], other)  # the same weights under another name: the plan's model, moved
    r = cli("run", "--plan", ggufs["plan"], *QUESTIONS[:3], "--model", f"big.gguf={other}", "--json", "--no-timing")
    assert r.code == 0, r.err
    lines = r.json_lines()
    assert all(d["stages"][0]["model"] == "small.gguf" for d in lines)
    assert all(s["model"] == "other.gguf" for d in lines for s in d["stages"][1:])

    for args, needle in ((("--model", f"huge.gguf={other}"), "huge.gguf"),
                         (("--model", str(other)), "NAME=SPEC"),
                         (("--model", f"big.gguf={other}", "--model", f"big.gguf={other}"), "twice")):
        r = cli("run", "--plan", ggufs["plan"], "What is 1 + 1?", *args)
        lines = [x for x in r.err.splitlines() if x.strip()]
        assert r.code == 3 and len(lines) == 1 and needle in lines[0] and r.out == "", (args, r.err)
    r = cli("evaluate", "--plan", ggufs["plan"], "--model", f"huge.gguf={other}")
    assert r.code == 3 and "huge.gguf" in r.err


def _question(request) -> str:
    """The question a request asks (the last one in its prompt: a few-shot prompt asks others first)."""
    text = request.messages[-1]["content"] if request.messages else request.prompt
    return re.findall(r"What is \d+ \+ \d+\?", text)[-1]


class _Steady:
    """A fake first stage (tests/fakes.py) that is always right, and so unanimous, except on one question."""

    def __init__(self, shaky: str) -> None:
        from fakes import FakeBackend

        self.inner, self.shaky = FakeBackend(), shaky
        self.info = self.inner.info

    def sample(self, requests):
        return self.inner.sample([r if _question(r) == self.shaky else replace(r, temperatures=(0.0,))
                                  for r in requests])

    def close(self) -> None:
        pass


def test_a_later_stage_draws_by_the_query_not_by_who_else_escalated(ggufs) -> None:
    """A query's second-stage seeds hang on its position and the stage only: the same whether or not
    other queries escalated beside it, and never its first stage's seeds again."""
    from fakes import FakeBackend

    questions = [f"What is {a} + {b}?" for a, b in ((3, 4), (12, 9), (25, 17), (8, 8), (40, 2), (13, 29), (7, 51),
                                                     (66, 5), (19, 19), (31, 44))]
    plan = load_plan(ggufs["plan"])

    def second_stage_seeds(first) -> dict[str, tuple]:
        second = FakeBackend()
        run_cascade(as_queries(questions), plan, models={"small.gguf": first, "big.gguf": second}, mismatch="ok")
        return {_question(r): r.seeds for r in second.requests}

    first = FakeBackend()
    crowd = second_stage_seeds(first)
    assert len(crowd) >= 2
    alone = questions[max(questions.index(q) for q in crowd)]  # not the first to escalate: its place among them moves
    assert second_stage_seeds(_Steady(alone)) == {alone: crowd[alone]}
    own_first = {s for r in first.requests if _question(r) == alone for s in r.seeds}
    assert not own_first & set(crowd[alone])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with LlamaServer(embedded_model_path(), log=tmp_path_factory.mktemp("server") / "server.log") as s:
        yield s


def test_a_gguf_in_process_then_a_server(cli, ggufs, server: LlamaServer) -> None:
    work = ggufs["work"]
    remote = _profile(server.url, work / "server.jsonl")
    plan = _cascade([work / "small.jsonl", remote], {"small.gguf": 1.35e8, server.url: 1.35e9})
    path = save_plan(_escalating(plan), work / "casc-server.json")
    r = cli("run", "--plan", path, *QUESTIONS, "--json", "--no-timing")
    assert r.code == 0, r.err
    assert _check_stages(r.json_lines(), "small.gguf", server.url) >= 1


def test_serve_routes_each_request_through_the_cascade(ggufs) -> None:
    """`inferplan serve` of a cascade: the `openai` client's requests run on small.gguf and, where its
    answer does not stand, on big.gguf; the reply is the answering stage's, charged every stage."""
    openai = pytest.importorskip("openai")
    from plan_server import PlanServer

    server = PlanServer(ggufs["plan"]).start()
    try:
        client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=120)
        extras = []
        for i, question in enumerate(QUESTIONS):
            reply = client.chat.completions.create(model="x", messages=[{"role": "user", "content": question}],
                                                   seed=i)
            extras.append(reply.model_extra["inferplan"])
        escalated = 0
        for d in extras:
            stages = d["stages"]
            assert stages[0]["model"] == "small.gguf" and stages[0]["samples"] == 3
            assert d["samples"] == sum(s["samples"] for s in stages)
            assert d["completion_tokens"] + d["wasted_tokens"] == sum(s["completion_tokens"] for s in stages)
            if not stages[0]["stood"]:
                escalated += 1
                assert [s["model"] for s in stages] == ["small.gguf", "big.gguf"] and stages[1]["stood"]
                assert d["votes"] == stages[1]["votes"]
        assert escalated >= 1
        assert server.health()["answered"] == len(QUESTIONS)
    finally:
        assert server.stop() in (0, 130), server.stderr


def _chained(plan_path: Path, opened: list[str], gate=None, **escalate):
    """A ChainedService of small.gguf → big.gguf whose backends open through a recorder (``gate``:
    an Event the opening of a later stage waits on)."""
    from inferplan.runner.chained_service import ChainedService
    from inferplan.runner.live_query import PlanOverrides
    from inferplan.runner.plan_model import ModelChoice

    plan = load_plan(plan_path)
    if escalate:
        plan = replace(plan, escalate=Escalation(escalate["share"], plan.escalate.plan))

    def open_model(spec: str):
        opened.append(Path(spec).name)
        if gate is not None and opened[-1] == "big.gguf":
            assert gate.wait(120)
        return open_backend(spec, None)

    choices = [(ModelChoice(s.model.spec, s.model.label), None) for s in plan.stages]
    return ChainedService(plan, choices, PlanOverrides(seed=0), open_model)


def test_served_cascade_opens_a_later_stage_only_when_a_request_reaches_it(ggufs) -> None:
    """`serve` of a cascade: stage 2's model loads at the first escalation, once, and never where no
    request escalates (issue 31: a model no query reaches is never loaded)."""
    from inferplan.runner.queries import Query

    opened: list[str] = []
    calm = _chained(ggufs["calm"], opened)
    try:
        assert opened == ["small.gguf"]  # the first stage opens at start
        for i, q in enumerate(QUESTIONS[:3]):
            assert calm.submit(Query(str(i), q)).future.result(timeout=300).answer is not None
        assert opened == ["small.gguf"] and calm.stages[1].service is None
    finally:
        calm.close()
    opened.clear()
    always = _chained(ggufs["plan"], opened, share=1.01)  # no stage-1 vote can stand
    try:
        tickets = [always.submit(Query(str(i), q)) for i, q in enumerate(QUESTIONS[:3])]
        results = [t.future.result(timeout=300) for t in tickets]
        assert [len(r.stages) for r in results] == [2, 2, 2]
        assert opened == ["small.gguf", "big.gguf"]  # loaded once, for all three
    finally:
        always.close()


def _held_at_stage_two(ggufs):
    """A service whose one request has escalated and waits for stage 2's model, its load held at a gate."""
    import threading

    from inferplan.runner.queries import Query

    gate, opened = threading.Event(), []
    service = _chained(ggufs["plan"], opened, gate, share=1.01)
    ticket = service.submit(Query("q", QUESTIONS[0]))
    deadline = time.monotonic() + 300
    while opened != ["small.gguf", "big.gguf"] and time.monotonic() < deadline:
        time.sleep(0.05)  # stage 1 answered; stage 2's model is loading (held at the gate)
    assert opened == ["small.gguf", "big.gguf"]
    return service, ticket, gate


def test_a_request_cancelled_while_its_stage_loads_is_never_run_there(ggufs) -> None:
    service, ticket, gate = _held_at_stage_two(ggufs)
    try:
        service.cancel(ticket)
        assert ticket.future.cancelled() and service.stats.cancelled == 1
        gate.set()
        stage2 = service.stages[1].ready().result(timeout=300)
        time.sleep(0.5)
        assert stage2.stats.received == 0 and service.stats.answered == 0
    finally:
        gate.set()
        service.close()


def test_closing_while_a_stage_loads_settles_its_requests_and_loads_nothing_after(ggufs) -> None:
    """serve stopping while stage 2's model loads: close() does not wait for the load, the waiting
    request fails as a closed service's does once the load ends, and the loaded model is shut."""
    from inferplan.errors import InferplanError

    service, ticket, gate = _held_at_stage_two(ggufs)
    try:
        service.close(timeout=0.5)
        assert not service.stages[1].ready().done()  # close() returned with the load still held
        gate.set()
        with pytest.raises(InferplanError, match="closed"):
            ticket.future.result(timeout=300)
        assert service.stages[1].service is None and service.stats.failed == 1
    finally:
        gate.set()
        service.close()


def test_a_stage_that_refuses_settles_the_request_with_its_error(ggufs) -> None:
    """Where the next stage cannot take an escalated query, the caller gets that error at once
    (an exception in a routing callback would otherwise be logged and the request never settle)."""
    from inferplan.errors import InferplanError
    from inferplan.runner.queries import Query

    opened: list[str] = []
    service = _chained(ggufs["plan"], opened, share=1.01)
    try:
        service.stages[1].ready().result(timeout=300).close()  # stage 2 refuses what reaches it
        ticket = service.submit(Query("q", QUESTIONS[0]))
        with pytest.raises(InferplanError, match="closed"):
            ticket.future.result(timeout=300)
        assert service.stats.failed == 1 and service.stats.answered == 0
    finally:
        service.close()


def test_a_later_stage_that_cannot_load_fails_the_requests_that_reach_it(ggufs, tmp_path) -> None:
    from inferplan.errors import InferplanError
    from inferplan.runner.queries import Query

    plan = load_plan(ggufs["plan"])
    broken = tmp_path / "big.gguf"
    broken.write_bytes(b"GGUF not really")
    stages = list(plan.stages)
    moved = replace(stages[1].model, spec=str(broken))
    plan = replace(plan, escalate=Escalation(1.01, replace(plan.escalate.plan, model=moved)))
    path = save_plan(plan, tmp_path / "broken.json")
    opened: list[str] = []
    service = _chained(path, opened)
    try:
        ticket = service.submit(Query("q", QUESTIONS[0]))
        with pytest.raises(InferplanError):
            ticket.future.result(timeout=300)
        assert service.stats.failed == 1 and opened == ["small.gguf", "big.gguf"]
    finally:
        service.close()
