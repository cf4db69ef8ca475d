"""A local lm-evaluation-harness task for tests and benchmarks: a YAML over a JSONL, nothing downloaded.

``write_task(root, name, tasks)`` writes ``root/NAME.jsonl`` (``id``, ``question``, ``answer``)
and ``root/NAME.yaml``: a ``generate_until`` task graded by ``exact_match`` on the
number a regex filter takes from each response (the first, or with ``last=True`` the last).
"""

from __future__ import annotations

import json
from pathlib import Path

_YAML = """\
task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{prompt}"
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: ["\\n\\n"]
  max_gen_toks: {max_tokens}
repeats: {repeats}
filter_list:
  - name: number
    filter:
      - function: regex
        regex_pattern: "(-?[0-9]+)"
        group_select: {group}
      - function: take_first
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
"""


def write_task(root: Path, name: str, tasks, *, repeats: int = 1, max_tokens: int = 24, last: bool = False,
               prompt: str = "Question: {{question}}\\nAnswer with the number only.") -> Path:
    """The task's directory (pass it as ``--include_path``); ``tasks`` have ``id``, ``text``, ``answer``.

    ``prompt`` is the YAML's ``doc_to_text``, a Jinja template (YAML double-quoted: ``\\n`` is a newline)."""
    root.mkdir(parents=True, exist_ok=True)
    data = root / f"{name}.jsonl"
    data.write_text("".join(json.dumps({"id": t.id, "question": t.text, "answer": t.answer}) + "\n" for t in tasks))
    (root / f"{name}.yaml").write_text(_YAML.format(name=name, data=data, prompt=prompt, max_tokens=max_tokens,
                                                    repeats=repeats, group=-1 if last else 0))
    return root
