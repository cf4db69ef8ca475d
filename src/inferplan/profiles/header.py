"""The profile header, parsed once at the file boundary into a typed :class:`ProfileHeader`.

Headers come from ``inferplan profile`` (model, backend, tasks, grader, template …)
and from ``inferplan import`` (published sample sets: no template, a grader given as
text, sometimes a train/test split). Everything downstream reads these fields, never
the raw dictionary; ``raw`` is kept only to write the header back and to compare the
settings a rerun must share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from inferplan.errors import InputError


@dataclass(frozen=True)
class ConfigSpec:
    """One sampling configuration: a name and its settings (temperature, …)."""

    name: str
    temperature: float | None = None
    settings: dict = field(default_factory=dict)  # top_p, top_k, min_p, model, prompt variant …

    @property
    def top_p(self) -> float:
        return float(self.settings.get("top_p") or 1.0)

    @property
    def top_k(self) -> int:
        return int(self.settings.get("top_k") or 0)

    @property
    def min_p(self) -> float:
        return float(self.settings.get("min_p") or 0.0)

    def to_json(self) -> dict:
        return {"name": self.name, "temperature": self.temperature, **self.settings}

    @classmethod
    def from_json(cls, d: dict) -> ConfigSpec:
        if not isinstance(d, dict) or "name" not in d:
            raise InputError(f"configuration without a name: {str(d)[:80]}")
        rest = {k: v for k, v in d.items() if k not in ("name", "temperature")}
        temperature = d.get("temperature")
        return cls(name=str(d["name"]), temperature=None if temperature is None else float(temperature),
                   settings=rest)


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ProfileHeader:
    """What a profile says about how its samples were made."""

    raw: dict
    configs: tuple[ConfigSpec, ...]
    problem_ids: tuple[str, ...]
    model: dict  # spec, path, sha256, parameters (profile) or name (import)
    backend: dict  # name, device, supports_shared_prefix, settings
    tasks: dict  # source, limit, shuffle, sha256 …
    grader_name: str  # the grader that read the answers ("mixed" for per-task graders)
    truncated: str  # what a sample cut at the token cap answered: "abstain" or "grade" (older profiles)
    template: str | None  # prompt template name; None for imported sample sets
    template_shots: int
    max_tokens: int | None
    seed: int
    split: dict | None  # {"train": [ids], "test": [ids]} of published sets
    throughput: dict | None  # {batch size: tokens/s}, where measured

    @property
    def parameters(self) -> float | None:
        params = self.model.get("parameters") or self.raw.get("parameters")
        return float(params) if params else None

    @property
    def model_path(self) -> str | None:
        path = self.model.get("path")
        return path if isinstance(path, str) else None

    @property
    def model_label(self) -> str:
        return str(self.model.get("spec") or self.model.get("name") or self.model.get("path") or "?")

    @property
    def shared_prefix(self) -> bool:
        """Whether the backend evaluated a prompt once for all N samples.

        ``inferplan profile`` records it; older profiles only name the backend, and
        of ours only transformers prefills once per row.
        """
        if "supports_shared_prefix" in self.backend:
            return bool(self.backend["supports_shared_prefix"])
        return self.backend.get("name") != "transformers"

    @property
    def batch_width(self) -> int:
        """Samples the profiler decoded concurrently (llama.cpp ``parallel``), 1 if unrecorded."""
        for where in (_dict(self.raw.get("engine")), _dict(self.backend.get("settings")), self.backend):
            width = where.get("parallel")
            if isinstance(width, (int, float)) and width >= 1:
                return int(width)
        return 1

    @classmethod
    def parse(cls, d: dict, path: Path | str = "profile") -> ProfileHeader:
        """Validate and type a header dictionary (as read from line 1 of a profile)."""
        try:
            configs = tuple(ConfigSpec.from_json(c) for c in d.get("configs") or [])
            grader = d.get("grader")
            template = _dict(d.get("prompt_template"))
            split = d.get("split")
            if split is not None and not (isinstance(split, dict) and {"train", "test"} <= set(split)):
                raise InputError("'split' needs 'train' and 'test' lists")
            return cls(
                raw=d, configs=configs, problem_ids=tuple(str(p) for p in d.get("problem_ids") or []),
                model=_dict(d.get("model")), backend=_dict(d.get("backend")), tasks=_dict(d.get("tasks")),
                grader_name=str(_dict(grader).get("name", "auto")) if isinstance(grader, dict) else "auto",
                truncated="abstain" if isinstance(grader, dict) and grader.get("truncated") == "abstain" else "grade",
                template=template.get("name"), template_shots=int(template.get("shots") or 0),
                max_tokens=None if d.get("max_tokens") is None else int(d["max_tokens"]),
                seed=int(d.get("seed") or 0), split=split,
                throughput=d.get("throughput") if isinstance(d.get("throughput"), dict) else None,
            )
        except InputError as e:
            raise InputError(f"{path}: malformed profile header: {e}") from None
        except (TypeError, ValueError) as e:
            raise InputError(f"{path}: malformed profile header ({type(e).__name__}: {e})") from None
