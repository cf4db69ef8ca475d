"""Command and group classes whose --help shows no ``<bool>`` type beside a flag (a flag takes no value)."""

from __future__ import annotations

import typer.core


class _FlagsWithoutType:
    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(_FlagsWithoutType, typer.core.TyperCommand):
    """Every inferplan command."""


class Group(_FlagsWithoutType, typer.core.TyperGroup):
    """The inferplan app and its ``profile`` group."""
