"""The three GPQA models of the Best-of-∞ sets as profiles, for the tests of plans across models."""

from __future__ import annotations

from pathlib import Path

import inferplan as ip
from inferplan.planner.models import model_name

# Active parameters per model: the flops unit prices each model's tokens by them.
ACTIVE = {"gpt-oss-20b": 3.6e9, "NVIDIA-Nemotron-Nano-9B-v2": 9.0e9, "Phi-4-reasoning": 14.7e9}


def import_gpqa(shared_data: Path, out: Path) -> dict[str, Path]:
    """Each model's profile path by its model name, in the order of ACTIVE."""
    results = ip.import_profiles("boinf", [shared_data / "boinf" / f"gpqa_diamond_{m}.jsonl" for m in ACTIVE],
                                 out_dir=out)
    paths = {model_name(ip.open_profile(r.path)): r.path for r in results}
    return {m: paths[m] for m in ACTIVE}
