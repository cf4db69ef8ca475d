"""The model block of a plan file: the model a plan was made for, and what one of its tokens cost.

``run``, ``evaluate`` and ``serve`` open the model it names by default (runner/plan_model.py). A
plan budgeted in FLOPs also records the active parameters it charged each token with — given
with ``plan --params MODEL=N`` or read from the GGUF — so ``evaluate`` charges what was planned,
not whatever the model file says (a mixture-of-experts GGUF counts every expert). Older plans
without them are charged as before, by the profile's count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def model_label(spec: str) -> str:
    """How output names a model spec: a GGUF path by its file name, anything else as given."""
    return Path(spec).name if spec.endswith(".gguf") else spec


@dataclass(frozen=True)
class PlanModel:
    """The model a plan was made for, as its profile recorded it: what ``run`` opens by default."""

    spec: str | None  # what to open: "smollm2", a .gguf path, hf:DIR, a server URL; None: not runnable
    sha256: str | None = None  # the weights' sha256 where the profile knew it
    name: str | None = None  # a server's model id, or the model an imported sample set came from
    parameters: float | None = None  # unit flops: the active parameters the plan charged a token with

    @property
    def label(self) -> str:
        """How output names the model: the file name of a GGUF path, else the spec or name."""
        return model_label(self.spec) if self.spec else self.name or "?"

    def to_json(self) -> dict:
        return {"spec": self.spec, "sha256": self.sha256, "name": self.name,
                **({"parameters": self.parameters} if self.parameters else {})}

    @classmethod
    def from_json(cls, d: dict | None) -> PlanModel | None:
        if not isinstance(d, dict):
            return None
        parameters = d.get("parameters")
        return cls(spec=d.get("spec"), sha256=d.get("sha256"), name=d.get("name"),
                   parameters=float(parameters) if parameters else None)

    @classmethod
    def of(cls, header, parameters: float | None = None) -> PlanModel:
        """The model of a profile (its :class:`ProfileHeader`): one made by ``inferplan profile``
        names its spec; an imported sample set only a name, and cannot be run. ``parameters``: what
        the plan charged a token with (unit flops)."""
        model, backend = header.model, header.backend
        spec = model.get("spec")
        if isinstance(spec, str) and not spec.startswith(("http://", "https://", "hf:")) and spec != "smollm2":
            path = Path(spec).expanduser()
            spec = str(path.resolve()) if path.exists() else spec  # so the plan runs from any folder
        settings = backend.get("settings") if isinstance(backend.get("settings"), dict) else {}
        name = model.get("name") or settings.get("model_name")
        return cls(spec=spec if isinstance(spec, str) else None, sha256=model.get("sha256"),
                   name=str(name) if name else None, parameters=parameters)
