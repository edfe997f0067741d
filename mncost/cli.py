"""The command line: parse, call the API, pick a renderer, map errors to exit codes."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

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


@app.command()
def crosscheck(
    arch: Annotated[Optional[str], typer.Option(help="Architectures, comma-separated (v1,v2).")] = None,
    alpha: Annotated[Optional[str], typer.Option(metavar="A[,A...]", help="Width multipliers, comma-separated.")] = None,
    res: Annotated[Optional[str], typer.Option(metavar="R[,R...]", help="Resolutions (N or HxW), comma-separated.")] = None,
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

        with Progress(console=Console(stderr=True), transient=True) as bar:
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


# --- compare (conventions) ---


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
