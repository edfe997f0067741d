"""The command line: parse, call the API, pick a renderer, map errors to exit codes."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import click
import typer

from .errors import MncostError
from .render import Format, emit

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def _group() -> None:
    """Exact mult-adds, parameters and activations of MobileNets, layer by layer."""


Arch = Annotated[str, typer.Option(help="Architecture: v1, v2, v1-fullconv, v1-shallow, or a spec file path.toml.")]
# Alpha and classes are parsed by mncost, so that a bad value gets mncost's one-line message.
Alpha = Annotated[str, typer.Option(metavar="A", help="Width multiplier alpha > 0.")]
Res = Annotated[str, typer.Option(metavar="R", help="Input resolution: N or HxW.")]
Classes = Annotated[str, typer.Option(metavar="K", help="Number of classes (>= 1).")]
Fmt = Annotated[Format, typer.Option("--format", help="Output format.")]
GRID = "comma list of values and start:stop:step ranges (stop included when on the grid)"


@app.command()
def table(arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224", classes: Classes = "1000",
          fmt: Fmt = Format.rich) -> None:
    """Per-layer mult-adds, params and activations, in the paper's columns."""
    from .analysis import analyze

    result = analyze(arch, alpha, res, classes)
    emit(fmt, [result.to_table()], result.to_dict())


# --- crosscheck (torch subpackage) ---


@app.command()
def crosscheck(
    arch: Annotated[Optional[str], typer.Option(help="Architectures, comma-separated (v1,v2).")] = None,
    alpha: Annotated[Optional[str], typer.Option(metavar="GRID", help=f"Width multipliers: {GRID}.")] = None,
    res: Annotated[Optional[str], typer.Option(metavar="GRID", help=f"Resolutions (N or HxW): {GRID}.")] = None,
    classes: Annotated[Optional[str], typer.Option(metavar="K", help="Classes (default 1000; 1001 with --grid).")] = None,
    grid: Annotated[Optional[str], typer.Option(help="'paper': the 16 V1 and 22 V2 reference checkpoints.")] = None,
    fmt: Fmt = Format.rich,
) -> None:
    """Every layer against fvcore on the real nn.Module; exit 1 naming the layers that disagree."""
    from .crosscheck import configs, run, tables, to_payload

    nets = configs(arch, alpha, res, classes, grid)
    if len(nets) > 1:
        from rich.console import Console
        from rich.progress import Progress

        console = Console(stderr=True)
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("cross-checking", total=len(nets))
            results = run(nets, lambda net: bar.advance(task))
    else:
        results = run(nets)
    emit(fmt, tables(results), to_payload(results))
    failures = [line for result in results for line in result.failures()]
    for line in failures:
        typer.echo(f"mncost: crosscheck mismatch: {line}", err=True)
    if failures:
        raise typer.Exit(1)


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
            alpha: Annotated[str, typer.Option(metavar="GRID", help=f"Width multipliers: {GRID}.")]
            = "1.0,0.75,0.5,0.25",
            res: Annotated[str, typer.Option(metavar="GRID", help=f"Resolutions (N or HxW): {GRID}.")]
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


Target = Annotated[str, typer.Argument(metavar="TARGET",
                                        help="path/to/file.py:NAME or package.module:NAME, NAME(key=literal, ...).")]
Input = Annotated[str, typer.Option("--input", metavar="NxCxHxW", help="Input shape, batch 1.")]


def _torch_needed(what: str) -> None:
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise MncostError(f"{what} needs torch ({error}); install mncost[torch]") from None


@app.command()
def compare(target: Annotated[Optional[str], typer.Argument(
                metavar="[TARGET]", help="A PyTorch model (path/to/file.py:NAME or package.module:NAME) "
                                         "instead of --arch.")] = None,
            arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224", classes: Classes = "1000",
            input: Annotated[str, typer.Option("--input", metavar="NxCxHxW",
                                               help="With TARGET: input shape, batch 1.")] = "1x3x224x224",
            measure: Annotated[bool, typer.Option(
                "--measure", help="Also run the installed counters on the real module (needs torch); "
                                  "exit 1 on any mismatch.")] = False,
            fmt: Fmt = Format.rich) -> None:
    """What each counter (paper, slim, fvcore, ptflops, thop, torchinfo, ...) prints, and why they differ."""
    from .conventions import compare as ledger_of, ledger as ledger_of_network

    if target is not None:
        given = [f"--{name}" for name, value, default in (("arch", arch, "v1"), ("alpha", alpha, "1.0"),
                 ("res", res, "224"), ("classes", classes, "1000")) if value != default]
        if given:
            raise MncostError(f"{', '.join(given)} describe a built-in arch; with TARGET give the input shape "
                              "as --input NxCxHxW")
        _torch_needed("compare TARGET")
        from .torch.trace import model_network, parse_input

        shape = parse_input(input)
        model, net = model_network(target, shape)
        ledger = ledger_of_network(net)
        if measure:
            import torch

            from .torch.measure import measure_module

            ledger = ledger.with_measurements(measure_module(model, torch.zeros(shape)))
    else:
        ledger = ledger_of(arch, alpha, res, classes)
        if measure:
            try:
                from .torch.measure import measure as run_counters
            except ImportError as error:
                raise MncostError(f"--measure needs torch ({error}); install mncost[torch] or drop --measure") from None
            ledger = ledger.with_measurements(run_counters(ledger.network))
    emit(fmt, [ledger.to_table()], ledger.to_dict())
    if target is not None:
        for note in ledger.network.notes:  # ops the trace recorded that no term counts
            typer.echo(f"mncost: note: {note}", err=True)
    bad = ledger.mismatches()
    if bad:
        typer.echo("mncost: measured != predicted for " + ", ".join(
            f"{e.convention.name} ({e.measured} vs {e.total}, params {e.measured_params} vs {e.params})"
            for e in bad), err=True)
        raise typer.Exit(1)


# --- count (any model) ---


@app.command()
def count(target: Target, input: Input = "1x3x224x224", fmt: Fmt = Format.rich) -> None:
    """A PyTorch model's own per-layer table: mult-adds, params, activations and the work beyond mult-adds."""
    _torch_needed("count")
    from .torch.trace import model_network, parse_input
    from .usermodel import count_table, to_dict

    _, net = model_network(target, parse_input(input))
    emit(fmt, [count_table(net)], to_dict(net))


# --- audit ---


@app.command()
def audit(
    target: Annotated[str, typer.Argument(metavar="TARGET",
                                          help="path/to/file.py:NAME or package.module:NAME, NAME(key=literal, ...).")],
    arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224",
    classes: Annotated[Optional[str], typer.Option(metavar="K", help="Classes (default: the model's last layer).")] = None,
    fmt: Fmt = Format.rich,
) -> None:
    """Hold a PyTorch MobileNet against the paper layer by layer; exit 1 naming each deviation."""
    from .torch.audit import audit as run_audit

    result = run_audit(target, arch, alpha, res, classes)
    emit(fmt, [result.to_table()], result.to_dict())
    if not result.ok:
        raise typer.Exit(1)


# --- sweep, fit (design studies) ---

@app.command()
def sweep(arch: Arch = "v1",
          alpha: Annotated[str, typer.Option(metavar="GRID", help=f"Width multipliers: {GRID}.")] = "0.25:1.0:0.25",
          res: Annotated[str, typer.Option(metavar="GRID", help=f"Resolutions (N or HxW): {GRID}.")] = "128:224:32",
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
    except click.ClickException as error:  # usage errors: bad option, value or choice
        typer.echo(f"mncost: error: {error.format_message()}", err=True)
        sys.exit(2)
    except click.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
