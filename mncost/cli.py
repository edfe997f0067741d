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


Arch = Annotated[str, typer.Option(help="Architecture: v1, v2, v1-fullconv, v1-shallow, or a spec file path.toml.")]
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


@app.command()
def paper(table_ids: Annotated[list[str] | None, typer.Argument(metavar="[TABLE_ID]...",
                                                              help="Tables to show (default: all).")] = None,
          fmt: Fmt = Format.rich) -> None:
    """The papers' tables: every published figure beside mncost's value, match and note."""
    from .paper import paper_tables

    tables = paper_tables(table_ids)
    emit(fmt, [t.to_table() for t in tables], [t.to_dict() for t in tables])


@app.command()
def scaling(arch: Arch = "v1",
            alpha: Annotated[str, typer.Option(metavar="LIST", help="Width multipliers, comma-separated.")]
            = "1.0,0.75,0.5,0.25",
            res: Annotated[str, typer.Option(metavar="LIST", help="Resolutions (N or HxW), comma-separated.")]
            = "224,192,160,128",
            classes: Classes = "1000", fmt: Fmt = Format.rich) -> None:
    """Mult-adds and params over a grid of width multipliers and resolutions ([V1] Tables 6, 7)."""
    from .scaling import scaling_grid

    grid = scaling_grid(arch, alpha, res, classes)
    emit(fmt, [grid.to_table()], grid.to_dict())


@app.command()
def report(out: Annotated[str, typer.Option(metavar="DIR", help="Folder to write the reports into.")] = "reports",
           check: Annotated[bool, typer.Option("--check", help="Exit 1 if the reports in DIR are stale.")] = False
           ) -> None:
    """Write the markdown reports and SVG figures (or, with --check, verify they are current)."""
    from .report import check_reports, write_reports

    if check:
        stale = check_reports(out)
        for name in stale:
            typer.echo(f"stale: {name}", err=True)
        if stale:
            typer.echo(f"mncost: {len(stale)} report file(s) in {out} are stale; run `mncost report --out {out}`",
                       err=True)
            raise typer.Exit(1)
        typer.echo(f"{out}: reports are up to date")
    else:
        for path in write_reports(out):
            typer.echo(f"wrote {path}")


# --- compare (conventions) ---


# --- audit ---


# --- sweep, fit (design studies) ---

Grid = "comma list of values and start:stop:step ranges (stop included when on the grid)"


@app.command()
def sweep(arch: Arch = "v1",
          alpha: Annotated[str, typer.Option(metavar="GRID", help=f"Width multipliers: {Grid}.")] = "0.25:1.0:0.25",
          res: Annotated[str, typer.Option(metavar="GRID", help=f"Resolutions: {Grid}.")] = "128:224:32",
          classes: Classes = "1000", fmt: Fmt = Format.rich) -> None:
    """Totals for every (alpha, resolution) on a grid: one row per config."""
    from .archs import parse_classes
    from .design import sweep_rows, sweep_table

    rows = sweep_rows(arch, alpha, res, classes)
    emit(fmt, [sweep_table(rows, parse_classes(classes))], rows)


@app.command()
def fit(arch: Arch = "v2",
        max_macs: Annotated[str, typer.Option(metavar="N", help="Mult-add budget: 100M, 1.5G, 2e8, 250k.")] = "100M",
        max_params: Annotated[str | None, typer.Option(metavar="N", help="Parameter budget (all params).")] = None,
        res: Annotated[str | None, typer.Option(metavar="GRID", help="Resolutions: the largest alpha for each "
                                                "(default 96,128,160,192,224).")] = None,
        alpha: Annotated[str | None, typer.Option(metavar="GRID", help="Alphas: the largest resolution for "
                                                  "each (instead of --res).")] = None,
        classes: Classes = "1000", fmt: Fmt = Format.rich) -> None:
    """The largest configs within a budget (Pareto front), with published top-1 where a checkpoint exists."""
    from .budget import fit as fit_budget, fit_table

    result = fit_budget(arch, max_macs, max_params, res, alpha, classes)
    emit(fmt, [fit_table(result)], result)


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
