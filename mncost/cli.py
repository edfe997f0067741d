"""The command line: parse, call the API, pick a renderer, map errors to exit codes."""

import errno
import os
import sys
from typing import Annotated, Optional

import click
import typer
from typer.core import TyperCommand

from . import __version__
from .errors import MncostError
from .output.options import Dtype, Freeze, Memory, Optimizer, TrainTarget
from .output.render import Format, emit
from .table import printable

# A failed write to stdout: a closed pipe, a full disk, a closed descriptor, an I/O error.
WRITE_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT}

SETTINGS = {"no_args_is_help": True, "pretty_exceptions_enable": False, "suggest_commands": False,
            "context_settings": {"help_option_names": ["-h", "--help"]}}
app = typer.Typer(**SETTINGS)


def _version(show: bool) -> None:
    if show:
        typer.echo(f"mncost {__version__}")
        raise typer.Exit()


@app.callback()
def _group(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                 help="Print mncost's version and exit.")] = False) -> None:
    """Exact mult-adds, parameters and activations of MobileNets, layer by layer."""


Arch = Annotated[str, typer.Option(help="Architecture: v1, v2, v1-fullconv, v1-shallow, v3-large, v3-small, "
                                        "v3-large-minimal, v3-small-minimal, v4-conv-small, v4-conv-medium, v4-conv-large, "
                                        "v4-hybrid-medium, v4-hybrid-large, or a spec file path.toml.")]
Build = Annotated[Optional[str], typer.Option(
    metavar="B", help="V3 only: size the network at alpha != 1 as slim, torchvision, timm or keras does "
                      "(default timm, the build of the published 0.75 checkpoints).")]
# Alpha and classes are parsed by mncost, so that a bad value gets mncost's one-line message.
Alpha = Annotated[str, typer.Option(metavar="A", help="Width multiplier alpha > 0.")]
Res = Annotated[str, typer.Option(metavar="R", help="Input resolution: N or HxW.")]
Classes = Annotated[str, typer.Option(metavar="K", help="Number of classes (>= 1).")]
Fmt = Annotated[Format, typer.Option("--format", help="Output format.")]
Wide = Annotated[bool, typer.Option("--wide", help="Rich tables at their natural width, every column shown, "
                                                     "however narrow the terminal.")]
def _arch(arch: str, build: str | None):
    """The arch name, or its Spec sized as the named [V3] build."""
    if build is None:
        return arch
    from .arch.builder import get_spec

    return get_spec(arch, build)

GRID = "comma list of values and start:stop:step ranges (stop included when on the grid)"
AlphaGrid = Annotated[str, typer.Option(metavar="GRID", help=f"Width multipliers: {GRID}.")]
ResGrid = Annotated[str, typer.Option(metavar="GRID", help=f"Resolutions (N or HxW): {GRID}.")]


@app.command()
def table(arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224", classes: Classes = "1000",
          build: Build = None, fmt: Fmt = Format.rich, wide: Wide = False) -> None:
    """Per-layer mult-adds, params and activations, in the paper's columns."""
    from .cost.analysis import analyze

    result = analyze(_arch(arch, build), alpha, res, classes)
    emit(fmt, [result.to_table()], result.to_dict(), wide)


# --- crosscheck (torch subpackage) ---


@app.command()
def crosscheck(
    arch: Annotated[Optional[str], typer.Option(help="Architectures, comma-separated (v1,v2).")] = None,
    alpha: Annotated[Optional[str], typer.Option(metavar="GRID", help=f"Width multipliers: {GRID}.")] = None,
    res: Annotated[Optional[str], typer.Option(metavar="GRID", help=f"Resolutions (N or HxW): {GRID}.")] = None,
    classes: Annotated[Optional[str], typer.Option(metavar="K", help="Classes (default 1000; 1001 with --grid).")] = None,
    grid: Annotated[Optional[str], typer.Option(help="'paper': the 16 V1 and 22 V2 reference checkpoints.")] = None,
    build: Build = None, fmt: Fmt = Format.rich,
) -> None:
    """Every layer against fvcore on the real nn.Module; exit 1 naming the layers that disagree.

    Needs the torch extra: pip install "mncost\\[torch]"."""
    from .torch import require
    from .torch.crosscheck import configs, run, tables, to_payload

    nets = configs(arch, alpha, res, classes, grid, build)
    require("crosscheck", ("torch", "fvcore"))
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


class _PaperCommand(TyperCommand):
    """The paper command, whose help ends with the table ids: typer 0.24 drops an Argument's help under
    click 8.5. The ids are read when the help is shown, so that no other command imports the paper tables."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .paper.tables import TABLES

        self.epilog = "TABLE_ID: " + ", ".join(TABLES) + "."
        super().format_help(ctx, formatter)


@app.command(cls=_PaperCommand)
def paper(table_ids: Annotated[list[str] | None, typer.Argument(metavar="[TABLE_ID]...",
                                                              help="Tables to show (default: all).")] = None,
          fmt: Fmt = Format.rich, wide: Wide = False) -> None:
    """The papers' tables: every published figure beside mncost's value, match and note."""
    from .paper import paper_tables

    tables = paper_tables(table_ids)
    emit(fmt, [t.to_table() for t in tables], [t.to_dict() for t in tables], wide)


@app.command()
def scaling(arch: Arch = "v1", alpha: AlphaGrid = "1.0,0.75,0.5,0.25", res: ResGrid = "224,192,160,128",
            classes: Classes = "1000", build: Build = None, fmt: Fmt = Format.rich, wide: Wide = False) -> None:
    """Mult-adds and params over a grid of width multipliers and resolutions ([V1] Tables 6, 7)."""
    from .study.scaling import scaling_grid

    grid = scaling_grid(_arch(arch, build), alpha, res, classes)
    emit(fmt, [grid.to_table()], grid.to_dict(), wide)


@app.command()
def report(out: Annotated[str, typer.Option(metavar="DIR", help="Folder to write the reports into; only files mncost report wrote are replaced.")] = "reports",
           check: Annotated[bool, typer.Option("--check", help="Exit 1 if the reports in DIR are stale.")] = False
           ) -> None:
    """Write the markdown reports and SVG figures (or, with --check, verify they are current)."""
    from .output.report import check_reports, write_reports

    if check:
        stale = check_reports(out)
        for name in stale:
            typer.echo(f"stale: {name}", err=True)
        if stale:
            typer.echo(f"mncost: {len(stale)} report file(s) in {out} are stale or missing; run `mncost report --out {out}`",
                       err=True)
            raise typer.Exit(1)
        typer.echo(f"{out}: reports are up to date")
    else:
        for path in write_reports(out):
            typer.echo(f"wrote {path}")


# --- compare (conventions) ---


Target = Annotated[str, typer.Argument(metavar="TARGET",
                                        help="path/to/file.py:NAME or package.module:NAME, NAME(key=literal, ...).")]
Input = Annotated[str, typer.Option("--input", metavar="NxCxHxW", help="Input shape (N: the batch).")]
Batch = Annotated[Optional[str], typer.Option(metavar="N", help="Batch size: counts for the whole batch, the "
                                              "per-image figure beside them.")]
Timeout = Annotated[Optional[str], typer.Option(
    metavar="SECONDS", help="With TARGET: stop the model's code after this many seconds, exit 2: loading it and "
                            "one forward pass, and again the counters of --measure (default 600).")]


def _check_target(target: str, command: str) -> None:
    """TARGET's syntax checked (no import), then the torch extra required: a typo fails before torch loads."""
    from .torch import require
    from .torch.target import parse_target

    parse_target(target)
    require(command)


def _time_limit(timeout: str | None):
    """The --timeout on user code (mncost.torch.target.time_limit; None: the default), once torch is loaded."""
    from .torch.target import DEFAULT_TIMEOUT, time_limit

    return time_limit(DEFAULT_TIMEOUT if timeout is None else timeout)


def _traced(target: str, input: str, batch: str | None, command: str, timeout: str | None):
    """TARGET loaded (this runs its code) and traced on a zero input of that shape: (module, Network)."""
    _check_target(target, command)
    from .torch.model import model_network, parse_input

    shape = parse_input(input, batch)
    with _time_limit(timeout):
        return model_network(target, shape)


@app.command()
def compare(target: Annotated[Optional[str], typer.Argument(
                metavar="[TARGET]", help="A PyTorch model (path/to/file.py:NAME or package.module:NAME) "
                                         "instead of --arch.")] = None,
            arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224", classes: Classes = "1000",
            input: Annotated[str, typer.Option("--input", metavar="NxCxHxW",
                                               help="With TARGET: input shape (N: the batch).")] = "1x3x224x224",
            batch: Batch = None,
            measure: Annotated[bool, typer.Option(
                "--measure", help="Also run the installed counters on the real module (needs torch); "
                                  "exit 1 on any mismatch.")] = False,
            build: Build = None, timeout: Timeout = None, fmt: Fmt = Format.rich, wide: Wide = False) -> None:
    """What each counter (paper, slim, fvcore, ptflops, thop, torchinfo, ...) prints, and why they differ."""
    from .cost.conventions import compare as ledger_of
    from .cost.conventions import ledger as ledger_of_network

    if target is not None:
        given = [f"--{name}" for name, value, default in (("arch", arch, "v1"), ("alpha", alpha, "1.0"),
                 ("res", res, "224"), ("classes", classes, "1000")) if value != default]
        if given:
            raise MncostError(f"{', '.join(given)} describe a built-in arch; with TARGET give the input shape "
                              "as --input NxCxHxW")
        model, net = _traced(target, input, batch, "compare TARGET", timeout)
        ledger = ledger_of_network(net)
        if measure:
            from .torch.measure import measure_model
            from .torch.model import parse_input

            with _time_limit(timeout):
                ledger = ledger.with_measurements(measure_model(model, parse_input(input, batch)))
    else:
        if batch is not None:
            raise MncostError("--batch counts a traced model's batch; give it with TARGET")
        ledger = ledger_of(_arch(arch, build), alpha, res, classes)
        if measure:
            from .torch import require

            require("compare --measure")
            from .torch.measure import measure as run_counters
            ledger = ledger.with_measurements(run_counters(ledger.network))
    emit(fmt, [ledger.to_table()], ledger.to_dict(), wide)
    if target is not None:
        from .cost.model import unknown_notes

        for note in unknown_notes(ledger.network):  # ops the trace recorded that no entry costs
            typer.echo(printable(f"mncost: note: {note}"), err=True)
    bad = ledger.mismatches()
    if bad:
        typer.echo("mncost: measured != predicted for " + ", ".join(
            f"{e.convention.name} ({e.measured} vs {e.total}, params {e.measured_params} vs {e.params})"
            for e in bad), err=True)
        raise typer.Exit(1)


# --- count (any model) ---


@app.command()
def count(target: Target, input: Input = "1x3x224x224", batch: Batch = None, timeout: Timeout = None,
          fmt: Fmt = Format.rich, wide: Wide = False) -> None:
    """A PyTorch model's own per-row table: mult-adds, params, activations and the work beyond mult-adds."""
    from .cost.model import Count

    result = Count(_traced(target, input, batch, "count", timeout)[1])
    emit(fmt, [result.to_table()], result.to_dict(), wide)


# --- audit ---

TORCH_EXTRA = 'Needs the torch extra: pip install "mncost\\[torch]".'  # \\[ : a literal [ in rich markup
AUDIT_HELP = "\n\n".join([
    "Hold a PyTorch MobileNet against the paper layer by layer; exit 1 naming each deviation.",
    "TARGET is path/to/file.py:NAME or package.module:NAME, where NAME is an nn.Module subclass, an nn.Module "
    "instance or a function returning one, e.g. my_net.py:MobileNetV2 or pytorchcv.models.mobilenet:mobilenet_w1. "
    "NAME(key=literal, ...) passes literal arguments (read with ast.literal_eval, never eval), "
    "e.g. 'my_net.py:MobileNetV2(num_classes=10, width=0.5)'.",
    "This runs your code: it imports the file or module, calls NAME and runs one forward pass on a zero input, "
    "so audit only code you trust. Its prints go to stderr; an error, sys.exit, Ctrl-C or --timeout in it is "
    "one line, exit 2. NAME is called only when it is an nn.Module class, or a function that makes one defined "
    "in the target's own file or package; anything else (the standard library, torch's functions, a function "
    "that takes a path) is refused before it runs.",
    TORCH_EXTRA,
])


@app.command(help=AUDIT_HELP)
def audit(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="path/to/file.py:NAME or package.module:NAME.")],
    arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224",
    classes: Annotated[Optional[str], typer.Option(metavar="K", help="Classes (default: the model's last layer).")] = None,
    build: Build = None, timeout: Timeout = None, fmt: Fmt = Format.rich,
) -> None:
    """Hold a PyTorch MobileNet against the paper layer by layer (runs TARGET's code)."""
    _check_target(target, "audit")
    from .torch.audit import audit as run_audit

    with _time_limit(timeout):
        result = run_audit(target, _arch(arch, build), alpha, res, classes)
    emit(fmt, [result.to_table()], result.to_dict())
    if not result.ok:
        raise typer.Exit(1)


# --- sweep, fit (design studies) ---

@app.command()
def sweep(arch: Arch = "v1", alpha: AlphaGrid = "0.25:1.0:0.25", res: ResGrid = "128:224:32",
          classes: Classes = "1000", build: Build = None, fmt: Fmt = Format.rich, wide: Wide = False) -> None:
    """Totals for every (alpha, resolution) on a grid: one row per config."""
    from .arch.bounds import parse_classes
    from .study.sweep import sweep_rows, sweep_table

    rows = sweep_rows(_arch(arch, build), alpha, res, classes)
    emit(fmt, [sweep_table(rows, parse_classes(classes))], rows, wide)


@app.command()
def fit(arch: Arch = "v2",
        max_macs: Annotated[str, typer.Option(metavar="N", help="Mult-add budget: 100M, 1.5G, 2e8, 250k.")] = "100M",
        max_params: Annotated[str | None, typer.Option(metavar="N", help="Parameter budget (all params).")] = None,
        res: Annotated[str | None, typer.Option(metavar="GRID", help="Resolutions: the largest alpha for each "
                                                "(default 96,128,160,192,224).")] = None,
        alpha: Annotated[str | None, typer.Option(metavar="GRID", help="Alphas: the largest resolution for "
                                                  "each (instead of --res).")] = None,
        classes: Classes = "1000", build: Build = None, fmt: Fmt = Format.rich, wide: Wide = False) -> None:
    """The largest configs within a budget (Pareto front), with published top-1 where a checkpoint exists."""
    from .study.fit import fit as fit_budget
    from .study.fit import fit_table

    result = fit_budget(_arch(arch, build), max_macs, max_params, res, alpha, classes)
    emit(fmt, [fit_table(result)], result, wide)


@app.command()
def train(target: TrainTarget = None, arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224", classes: Classes = "1000",
          input: Input = "1x3x224x224", batch: Batch = None, optimizer: Optimizer = "sgd", dtype: Dtype = "fp32",
          freeze: Freeze = None, memory: Memory = None, timeout: Timeout = None, fmt: Fmt = Format.rich,
          wide: Wide = False) -> None:
    """A training step per layer: forward and backward mult-adds (grad-input, grad-weight), saved bytes, memory."""
    from .torch.training import shown
    emit(fmt, *shown(**{k: v for k, v in locals().items() if k not in ("fmt", "wide", "shown")}), wide)


# --- latency (roofline) ---


@app.command()
def latency(target: Annotated[Optional[str], typer.Argument(
                metavar="[TARGET]", help="A PyTorch model (path/to/file.py:NAME or package.module:NAME) "
                                         "instead of --arch; runs its code, needs the torch extra.")] = None,
            arch: Arch = "v1", alpha: Alpha = "1.0", res: Res = "224", classes: Classes = "1000",
            hw: Annotated[str, typer.Option(metavar="NAME", help="Hardware: pixel6-cpu, s23-cpu, pixel4-dsp, "
                                            "pixel8-edgetpu ([V4] Table 16), macs (ridge 0), or this (measured).")]
            = "pixel6-cpu",
            dtype: Annotated[str, typer.Option(metavar="T", help="Precision of every tensor: int8, fp16 or fp32.")]
            = "int8",
            remeasure: Annotated[bool, typer.Option("--remeasure", help="With --hw this: measure again, "
                                                    "ignoring the cached profile.")] = False,
            threads: Annotated[Optional[int], typer.Option(metavar="N", help="With --hw this: the threads to "
                                                           "measure and predict at (default: torch's).")] = None,
            plot: Annotated[Optional[str], typer.Option(metavar="DIR", help="Also write the per-layer roofline "
                                                        "and the mult-adds vs predicted time figure (SVG).")] = None,
            input: Input = "1x3x224x224", batch: Batch = None, timeout: Timeout = None,
            fmt: Fmt = Format.rich) -> None:
    """Bytes moved, arithmetic intensity and roofline-predicted time per layer ([V4] Eq. 1)."""
    from .output.latency import latency as latency_of

    if plot is not None and not plot.strip():
        raise MncostError("--plot is empty; name the folder to write the figures into")
    if target is not None:
        if plot:
            raise MncostError("--plot draws an arch over the [V1] alpha x resolution grid; use it with --arch")
        _check_target(target, "latency TARGET")
    result = latency_of(arch if target is None else target, alpha=alpha, res=res, classes=classes,
                        input=input, batch=batch, timeout=timeout, hw=hw, dtype=dtype, remeasure=remeasure,
                        threads=threads, notify=lambda message: typer.echo(f"mncost: {message}", err=True))
    emit(fmt, [result.to_table()], result.to_dict())
    if plot:
        from .output.figures import write_latency_figures

        for path in write_latency_figures(arch, result, plot):
            typer.echo(f"wrote {path}", err=True)


def _quiet_stdout() -> None:
    """Point stdout at the null device, so that the exit-time flush of a dead pipe or full disk is silent."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no stdout, or one captured in memory
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def _click_group(argv: list[str]) -> click.Group:
    """The app as click runs it. typer reads every command's signature as it builds the group, so a run that
    names a command gets a group of that command alone: the same command, options and help."""
    named = [info for info in app.registered_commands
             if argv and (info.name or info.callback.__name__.replace("_", "-")) == argv[0]]
    if not named:
        return typer.main.get_command(app)
    alone = typer.Typer(**SETTINGS)
    alone.registered_callback, alone.registered_commands = app.registered_callback, named
    return typer.main.get_command(alone)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: user errors print one line on stderr and exit 2."""
    if sys.stdout is None:  # started with stdout closed (`mncost table >&-`)
        typer.echo("mncost: error: standard output is closed", err=True)
        sys.exit(2)
    command = _click_group(sys.argv[1:] if argv is None else argv)
    try:
        code = command.main(args=argv, prog_name="mncost", standalone_mode=False)
        sys.stdout.flush()  # a full disk fails here, not at exit
    except MncostError as error:
        typer.echo(printable(f"mncost: error: {error}"), err=True)
        sys.exit(2)
    except click.exceptions.NoArgsIsHelpError as error:  # bare `mncost`: the help, which is no error
        typer.echo(error.format_message())
        sys.exit(0)
    except click.ClickException as error:  # usage errors: bad option, value or choice
        typer.echo(f"mncost: error: {error.format_message()}", err=True)
        sys.exit(2)
    except click.Abort:
        sys.exit(130)
    except SystemExit as exit:
        if isinstance(exit.__context__, BrokenPipeError):  # rich and typer exit 1, the code of a mismatch
            _quiet_stdout()
            sys.exit(0)
        raise
    except OSError as error:
        if error.filename is not None or error.errno not in WRITE_ERRNOS:
            raise
        _quiet_stdout()
        if error.errno == errno.EPIPE:  # the reader stopped early (`mncost paper --format csv | head -1`)
            sys.exit(0)
        typer.echo(f"mncost: error: cannot write the output: {error.strerror}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
