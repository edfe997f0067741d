"""The command line: parse, call the API, pick a renderer, map errors to exit codes."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .errors import MncostError
from .render import Format, emit

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Exact mult-adds, parameters and activations of MobileNets, layer by layer.")



@app.callback()
def _group() -> None:
    """Exact mult-adds, parameters and activations of MobileNets, layer by layer."""


Arch = Annotated[str, typer.Option(help="Architecture: v1, v2, v1-fullconv, v1-shallow.")]
# Alpha and classes are parsed by mncost, so that a bad value gets mncost's one-line message.
Alpha = Annotated[str, typer.Option(metavar="A", help="Width multiplier alpha > 0.")]
Res = Annotated[str, typer.Option(metavar="R", help="Input resolution: N or HxW.")]
Classes = Annotated[str, typer.Option(metavar="K", help="Number of classes (>= 1).")]
Fmt = Annotated[Format, typer.Option("--format", help="Output format.")]


@app.command()
def table(arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224", classes: Classes = "1000",
          fmt: Fmt = Format.rich) -> None:
    """Per-layer mult-adds, params and activations, in the paper's columns."""
    from .analysis import analyze

    result = analyze(arch, alpha, res, classes)
    emit(fmt, [result.to_table()], result.to_dict())


# --- crosscheck (torch subpackage) ---


# --- paper, scaling, report ---


# --- compare (conventions) ---


@app.command()
def compare(arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224", classes: Classes = "1000",
            measure: Annotated[bool, typer.Option(
                "--measure", help="Also run the installed counters on the real module (needs torch); "
                                  "exit 1 on any mismatch.")] = False,
            fmt: Fmt = Format.rich) -> None:
    """What each counter (paper, slim, fvcore, ptflops, thop, torchinfo, ...) prints, and why they differ."""
    from .conventions import compare as ledger_of

    ledger = ledger_of(arch, alpha, res, classes)
    if measure:
        try:
            from .torch.measure import measure as run_counters
        except ImportError as error:
            raise MncostError(f"--measure needs torch ({error}); install mncost[torch] or drop --measure") from None
        ledger = ledger.with_measurements(run_counters(ledger.network))
    emit(fmt, [ledger.to_table()], ledger.to_dict())
    bad = ledger.mismatches()
    if bad:
        typer.echo("mncost: measured != predicted for " + ", ".join(
            f"{e.convention.name} ({e.measured} vs {e.total}, params {e.measured_params} vs {e.params})"
            for e in bad), err=True)
        raise typer.Exit(1)


# --- audit ---


# --- sweep, fit (design studies) ---


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: user errors print one line on stderr and exit 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="mncost", standalone_mode=False)
    except MncostError as error:
        typer.echo(f"mncost: error: {error}", err=True)
        sys.exit(2)
    except typer._click.exceptions.ClickException as error:  # usage errors: bad option, value or choice
        typer.echo(f"mncost: error: {error.format_message()}", err=True)
        sys.exit(2)
    except typer.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
