"""The command line's options of `mncost train` (typer's Annotated types; the command is in mncost.cli)."""

from typing import Annotated, Optional

import typer

TrainTarget = Annotated[Optional[str], typer.Argument(
    metavar="[TARGET]", help="A PyTorch model (path/to/file.py:NAME or package.module:NAME), traced; without it, "
                             "the built-in --arch, analytically (no torch).")]
Optimizer = Annotated[str, typer.Option(metavar="OPT", help="sgd, momentum, adam or adamw: its state per trainable "
                                                            "parameter.")]
Dtype = Annotated[str, typer.Option(metavar="DTYPE", help="fp32, bf16-mixed or fp16-mixed.")]
Freeze = Annotated[Optional[list[str]], typer.Option(
    metavar="PREFIX", help="Freeze the parameters whose name starts with PREFIX (repeatable): no grad-weight, no "
                           "grads, no optimizer state.")]
Memory = Annotated[Optional[str], typer.Option(
    metavar="SIZE", help="Also print the largest batch whose step fits in SIZE (24GB, 512MiB).")]
