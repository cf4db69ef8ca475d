"""The typer application: global options, and one module per command.

Each command module holds its command function; this file registers them, all one way
(the ``profile`` group, with its ``show`` subcommand, is a typer app of its own).
"""

from __future__ import annotations

import typer

from inferplan import __version__
from inferplan.cli import (
    demo,
    evaluate,
    fit,
    import_,
    models,
    plan,
    profile,
    run,
    serve,
    simulate,
)
from inferplan.cli.help import Command, Group
from inferplan.cli.render.run import install_log_handler

app = typer.Typer(
    name="inferplan",
    cls=Group,
    help="Budget-optimal LLM inference: profile a model, fit accuracy-vs-samples curves, "
    "plan N, temperatures and stopping, and run the plan.",
    no_args_is_help=True,
    add_completion=True,  # typer's own: inferplan --install-completion / --show-completion SHELL
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _version(value: bool) -> None:
    if value:
        typer.echo(f"inferplan {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    # Library warnings (engine notes, a model mismatch) reach the user as one stderr line each;
    # --debug adds the debug log. main() reads --debug itself for tracebacks.
    install_log_handler(debug)


COMMANDS = (("demo", demo.demo), ("run", run.run), ("serve", serve.serve), ("models", models.models),
            ("import", import_.import_cmd), ("fit", fit.fit_cmd), ("plan", plan.plan_cmd),
            ("simulate", simulate.simulate_cmd), ("evaluate", evaluate.evaluate))
for _name, _command in COMMANDS:
    app.command(_name, cls=Command)(_command)
app.add_typer(profile.profile_app, name="profile")
