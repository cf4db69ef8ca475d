"""The demo's narration: each step explained for someone new to test-time scaling."""

from __future__ import annotations

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from inferplan.api import describe_fixed
from inferplan.cli.render.common import err, fmt_estimate, fmt_interval, out
from inferplan.cli.render.evaluate import checks
from inferplan.cli.render.fit import write_plot
from inferplan.cli.render.plan import buys
from inferplan.cli.render.profile import ProgressBar
from inferplan.cli.render.spark import sparkline


def _h(n: int, title: str, why: str) -> None:
    out.print()
    out.print(f"[bold cyan]{n}. {title}[/bold cyan]")
    out.print(f"[dim]{why}[/dim]", highlight=False)


class DemoNarrator:
    """Receives each finished step from the core and prints it, with a progress bar while profiling."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.bar = ProgressBar()
        self.predicted = None  # the plan's held-out accuracy, said beside its answers

    def __enter__(self) -> DemoNarrator:
        s = self.settings
        out.print(Panel(
            "A language model often answers better if you ask it several times and take the most common "
            "answer — but every extra sample costs tokens and time. inferplan measures how accuracy grows "
            "with the number of samples on [italic]your[/italic] model and task, then plans how many samples to "
            "draw, at which temperatures, and when to stop early, for a budget you choose. "
            f"This demo does it all on the built-in model and {s.problems} generated arithmetic problems.",
            title="inferplan demo", border_style="cyan", width=min(out.width, 100)), soft_wrap=False)
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)  # stop the bar if profiling was interrupted

    def progress(self, p) -> None:
        self.bar.update(p)  # the bar appears with the first sample

    def step(self, name: str, value) -> None:
        getattr(self, f"_{name}")(value)

    def _model(self, info) -> None:
        out.print(f"model: [bold]{escape(str(info.model))}[/bold] on {info.name} ({info.device})", highlight=False)
        s = self.settings
        _h(1, "Profile", f"Ask each of {s.problems} problems {s.samples} times at each temperature "
           f"({', '.join(f'{t:g}' for t in s.temperatures)}) and grade every answer. "
           f"Saved to {s.workdir / 'profile.jsonl'}; a rerun resumes.")

    def _profile(self, r) -> None:
        self.bar.__exit__(None, None, None)
        out.print(f"{r.written + r.already} samples recorded ({r.written} new) in {r.seconds:.0f} s.", highlight=False)

    def _fit(self, report) -> None:
        _h(2, "Fit curves", "How does accuracy grow with the number of samples k? pass@k = some sample is right "
           "(needs a checker); maj@k = the majority answer is right (what you get without one).")
        t = Table(header_style="bold", box=None)
        t.add_column("temperature")
        t.add_column("k=1 (one sample)", justify="right")
        t.add_column(f"maj@{max(report.configs[0].observed.get('maj@k', {1: 0}))}", justify="right")
        t.add_column(f"pass@{max(report.configs[0].observed['pass@k'])}", justify="right")
        t.add_column("pass@k → 100 samples", justify="left")
        for c in report.configs:
            ks = sorted(c.observed["pass@k"])
            kmax = ks[-1]
            maj = c.observed.get("maj@k", {})
            curve = c.curve.get("pass@k", {})
            line = sparkline(list(curve.values())) if curve else ""
            p100 = c.predicted.get("pass@k", {}).get(100)
            t.add_row(
                c.config, fmt_interval(c.observed["pass@k"][1], *c.observed_intervals["pass@k"][1]),
                f"{100 * maj[max(maj)]:.1f}%" if maj else "–",
                f"{100 * c.observed['pass@k'][kmax]:.1f}%",
                f"{line} {'' if p100 is None else f'{100 * p100:.0f}% predicted at 100'}",
            )
        out.print(t)
        png = self.settings.workdir / "curves.png"
        write_plot(report, png)
        out.print(f"Curves with intervals and extrapolation: [bold]{png}[/bold]", highlight=False)

    def _plan(self, r) -> None:
        p = r.plan
        _h(3, "Plan", f"Search sample counts, temperature mixes and early-stopping rules on {r.train_problems} "
           f"problems for a budget of {p.budget:g} tokens per question; predict on the other {r.test_problems}.")
        mix = " + ".join(f"{name} ({100 * share:.0f}%)" for name, share in p.mix.items())
        pr = self.predicted = p.prediction
        out.print(f"chosen: sample at [bold]{escape(mix)}[/bold]; {escape(p.rule.describe())}; "
                  f"answer by {escape(p.aggregation.describe())}.", highlight=False)
        if pr is not None:
            out.print(f"predicted on held-out problems: accuracy {fmt_estimate(pr.accuracy)}, "
                      f"{pr.cost.point:.0f} tokens and {pr.samples:.1f} samples per question.", highlight=False)
            if line := buys(pr.accuracy.point, pr.cost.point, r.baselines, "tokens"):
                out.print(f"that buys {escape(line)}.", highlight=False)
        t = Table(header_style="bold", box=None, title="baselines on the same held-out problems", title_justify="left")
        t.add_column("strategy")
        t.add_column("accuracy", justify="right")
        t.add_column("tokens/question", justify="right")
        for b in r.baselines:
            t.add_row(escape(b.name), f"{100 * b.accuracy.point:.1f}%", f"{b.cost.point:.0f}")
        out.print(t)
        if r.break_even is not None:  # what planning paid: the profile against the per-query saving
            out.print(escape(r.break_even.note[0].upper() + r.break_even.note[1:]) + ".", highlight=False)
        out.print(f"plan saved to [bold]{self.settings.workdir / 'plan.json'}[/bold]", highlight=False)

    def _evaluate(self, e) -> None:
        _h(4, "Check the plan for real", "Run the plan with fresh samples on the held-out problems and "
           "compare with what it predicted — and with always drawing the same number of samples.")
        z, b = e.realised, e.baseline
        out.print(f"realised: accuracy {fmt_estimate(z.accuracy)}, "
                  f"{z.cost.point:.0f} tokens and {z.samples:.1f} samples per question", highlight=False)
        if b is not None:
            out.print(f"fixed N at the same tokens, {escape(describe_fixed(b.samples))}: {100 * b.accuracy:.1f}%",
                      highlight=False)
        c = checks(e)
        mark = {True: "[green]✓[/green]", False: "[red]✗[/red]", None: "–"}
        out.print(f"{mark[c['accuracy_in_predicted_interval']]} accuracy inside the predicted interval   "
                  f"{mark[c['cost_within_15pct']]} tokens within 15% of the prediction   "
                  f"{mark[c['beats_fixed_n']]} at least as accurate as fixed-N", highlight=False)
        out.print(f"{mark[c['samples_as_promised']]} samples per question as promised   "
                  f"{mark[c['completion_tokens_as_promised']]} completion tokens per question as promised",
                  highlight=False)

    def _answers(self, results) -> None:
        _h(5, "Answer questions with the plan", "Each question gets only as many samples as it needs: "
           "easy ones stop early, contested ones draw more. Same as `inferplan run --plan`.")
        for r in results:
            prompt = self.settings.examples[int(r.id) - 1]
            votes = ", ".join(f"{escape(a)}×{n}" for a, n in list(r.votes.items())[:4])
            out.print(f"  {escape(prompt)} → [bold green]{escape(str(r.answer))}[/bold green]  "
                      f"[dim]({r.samples} sample{'s' if r.samples != 1 else ''}; votes {votes})[/dim]", highlight=False)
        if self.predicted is not None:
            out.print(f"[dim]These answers are right about as often as the plan predicts, "
                      f"{fmt_estimate(self.predicted.accuracy)}: a 135M-parameter "
                      "model is often wrong, and a larger model (--model) is right more often.[/dim]",
                      highlight=False)
        out.print()
        out.print("Next: [bold]inferplan profile --tasks YOUR.jsonl -o my.jsonl[/bold], then "
                  "[bold]inferplan plan my.jsonl --budget … -o plan.json[/bold] and "
                  "[bold]inferplan run --plan plan.json[/bold].", highlight=False)
        err.print("done", style="dim")
