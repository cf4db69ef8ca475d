"""The types and helpers a client of the API (the CLI, a notebook) needs beside the verbs.

``inferplan.api`` serves them as attributes, each imported from its home module on first
use, so that ``import inferplan`` stays fast and a client never reaches into the layers.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "EXTRACTORS": "inferplan.grading.extract",
    "ModelEntry": "inferplan.backends.describe",
    "ImportResult": "inferplan.importers.published",
    "Progress": "inferplan.profiling.profiler", "ProfileResult": "inferplan.profiling.profiler",
    "ProfileSummary": "inferplan.profiling.summary",
    "FitReport": "inferplan.fitting.report", "save_report": "inferplan.fitting.report",
    "check_report_output": "inferplan.fitting.report",
    "Estimate": "inferplan.stats.estimate", "PerQuery": "inferplan.stats.estimate",
    "Plan": "inferplan.planner.plan_file", "Prediction": "inferplan.planner.plan_file",
    "check_plan_output": "inferplan.planner.plan_file",
    "PlanResult": "inferplan.planner.search", "ModelsPlanResult": "inferplan.planner.models",
    "Baseline": "inferplan.planner.simulate", "SimulationResult": "inferplan.planner.simulate",
    "EvaluationResult": "inferplan.runner.evaluate", "Realised": "inferplan.runner.evaluate",
    "QueryResult": "inferplan.runner.results",
    "Query": "inferplan.runner.queries", "read_queries": "inferplan.runner.queries",
    "queries_from_texts": "inferplan.runner.queries", "queries_from_stdin_lines": "inferplan.runner.queries",
    "PROMPTS": "inferplan.server.protocol", "prompts_for": "inferplan.server.protocol",
    "is_loopback": "inferplan.server.run",
    "describe_policy": "inferplan.policy.describe", "describe_fixed": "inferplan.policy.describe",
    "rule_legend": "inferplan.policy.describe", "describe_batch": "inferplan.policy.describe",
    "dumps": "inferplan._util.jsonl",
    "PNG_SOFTWARE": "inferplan._util.files", "png_drawn_by_inferplan": "inferplan._util.files",
    "check_replaceable": "inferplan._util.files", "write_atomically": "inferplan._util.files",
}


def client_attribute(name: str):
    """``inferplan.api.<name>`` for the names above (a module ``__getattr__``)."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'inferplan.api' has no attribute {name!r}")
