"""`mncost train` and `mncost.train`: a training step's costs, for a built-in arch (analytic: no torch is
imported) or any PyTorch model (traced once at the batch, its rows through the same backward registry)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..arch.layers import Network
from ..cost.train import DTYPES, Train, TrainRow, check_choices, check_freeze, network_train, train_rows, trainable_of

DROPOUT = "torch.nn.modules.dropout.Dropout"


def _with_dropout(net: Network, rows: list[TrainRow], dtype: str) -> list[TrainRow]:
    """Each nn.Dropout(p > 0) the trace (eval mode) skipped: in training on CPU it multiplies by a noise tensor
    of its input's size and dtype, which its product saves (its output replaces its input in the next op's
    saved tensors: the same size)."""
    extra: dict[str, int] = {}
    for layer in net.layers:
        for call in layer.calls:
            if call.module.type == DROPOUT and call.module.attrs.get("p", 0) > 0 and call.input is not None:
                extra[layer.name] = extra.get(layer.name, 0) + call.input.numel
    return [replace(r, saved=r.saved + extra.get(r.name, 0),
                    saved_bytes=r.saved_bytes + DTYPES[dtype] * extra.get(r.name, 0)) for r in rows]


def traced_train(net: Network, batch: int, optimizer: str = "sgd", dtype: str = "fp32",
                 freeze: tuple[str, ...] = (), per_image: Network | None = None) -> Train:
    """A traced model's step: its rows' own ops; trainable as the model says (requires_grad) and --freeze."""
    check_choices(optimizer, dtype, batch)
    own = {key: trainable for layer in net.layers for op in layer.ops if op.module is not None
           for _, key, _, trainable in op.module.params}
    own.update({key: True for layer in net.layers for op in layer.ops for key in op.params.values() if key not in own})
    check_freeze(freeze, own)
    trainable = trainable_of(own, freeze, own)
    rows, unknown = train_rows([(layer, list(layer.ops)) for layer in net.layers], trainable, batch, 1, dtype)
    rows = _with_dropout(net, rows, dtype)
    one = _with_dropout(per_image, train_rows([(layer, list(layer.ops)) for layer in per_image.layers], trainable,
                                              1, 1, dtype)[0], dtype) if per_image is not None else []
    notes = tuple(f"{op} in {module or 'the model'}: no forward entry, not counted" for op, module, _ in net.unknown)
    others = sorted({call.module.name for layer in net.layers for call in layer.calls
                     if "Dropout" in call.module.type and call.module.type != DROPOUT})
    if others:
        notes += (f"{', '.join(others)}: not modelled in training (traced in eval mode, where it does nothing).",)
    return Train(net.arch, tuple(rows), batch, optimizer, dtype, tuple(freeze), tuple(unknown), notes, tuple(one))


def train(model: Any = None, *, arch: str = "v1", alpha: float | str = 1.0, res: int | str = 224,
          classes: int | str = 1000, input: str | tuple[int, ...] = (1, 3, 224, 224), batch: int | None = None,
          optimizer: str = "sgd", dtype: str = "fp32", freeze: tuple[str, ...] | list[str] = (),
          memory: bool = False) -> Train:
    """A training step's exact costs per layer and its memory: a built-in arch (model None; torch-free), or
    model, an nn.Module or a TARGET string (whose code this runs). memory: also trace batch 1 (for
    largest_batch) when batch > 1."""
    freeze = tuple(freeze)
    if model is None:
        from ..arch.builder import network

        return network_train(network(arch, alpha, res, classes), 1 if batch is None else batch, optimizer, dtype,
                             freeze)
    import torch

    from .fold import network_of
    from .model import parse_input
    from .target import load_target
    from .trace import trace

    shape = parse_input(input if isinstance(input, str) else "x".join(map(str, input)), batch)
    module = load_target(model) if isinstance(model, str) else model
    label = model if isinstance(model, str) else type(model).__name__
    net = network_of(trace(module, torch.zeros(shape)), label)
    one = network_of(trace(module, torch.zeros((1, *shape[1:]))), label) if memory and shape[0] > 1 else None
    return traced_train(net, shape[0], optimizer, dtype, freeze, one)


def shown(target: str | None, *, batch: str | None = None, memory: str | None = None, timeout: str | None = None,
          freeze: list[str] | None = None, **options: Any) -> tuple:
    """`mncost train`'s ([table], JSON document): --batch and --memory parsed, a TARGET checked before torch
    loads and run under --timeout, the largest batch added."""
    from ..cost.train import parse_batch, parse_memory

    budget = parse_memory(memory) if memory is not None else None
    options["freeze"] = tuple(freeze or ())
    if target is None:
        options.pop("input")
        result = train(batch=parse_batch(batch), **options)
    else:
        from . import require
        from .target import DEFAULT_TIMEOUT, parse_target, time_limit

        parse_target(target)
        require("train")
        for name in ("arch", "alpha", "res", "classes"):
            options.pop(name)
        with time_limit(DEFAULT_TIMEOUT if timeout is None else timeout):
            result = train(target, batch=batch, memory=budget is not None, **options)
    table, document = result.to_table(), result.to_dict()
    if budget is not None:
        largest = result.largest_batch(budget)
        document["largest_batch"] = {"memory": budget, "batch": largest}
        table.footer.append(f"--memory {memory}: the largest batch whose step fits is {largest:,}.")
    return [table], document
