"""What a training step costs, layer by layer: forward mult-adds, the backward's split into grad-input and
grad-weight, the bytes autograd saves, and the memory of a step at a batch, dtype and optimizer.

Both a built-in arch (its layout's aten ops, mncost.cost.layout) and a traced model (its rows' ops) go through
the backward registry (mncost.cost.backward): a gradient is counted for an argument that requires grad (a
trainable parameter, or an activation downstream of one), a saved tensor once per storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from ..arch.layers import Layer, Network
from ..arch.records import Call, Op, Shape
from ..errors import MncostError
from ..table import Column, Shown, Table, human
from .backward import grad_macs, saved
from .layout import parts
from .ops import BATCH_NORMS, costed

OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}  # fp32 state tensors per trainable parameter
DTYPES = {"fp32": 4, "bf16-mixed": 2, "fp16-mixed": 2}  # bytes per saved activation element
STATS = {"out.1", "out.2"}  # a norm's saved mean and inverse std: fp32 under autocast too
UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20,
         "GIB": 2**30, "TIB": 2**40}


@dataclass(frozen=True)
class TrainRow:
    """One layer of a training step, exact integers for the batch."""

    name: str
    kind: str
    forward: int  # multiply-adds
    grad_input: int
    grad_weight: int
    saved: int  # elements autograd keeps for backward, each storage once (not parameters or buffers)
    saved_bytes: int
    params: int
    trainable: int
    output: int  # output elements (the transient gradient of the step's backward)

    @property
    def backward(self) -> int:
        return self.grad_input + self.grad_weight

    @property
    def ratio(self) -> float | None:
        return self.backward / self.forward if self.forward else None


def builtin_ops(net: Network) -> list[tuple[Layer, list[Op]]]:
    """A built-in arch's layers as the aten ops their module runs, with tensor identities (serials) as tracing
    records them: a layer reads the previous layer's output (or its `source`), a residual add its shortcut's
    input, a multiply its operand's input, attention its `other`'s output; dropout (train mode, CPU) multiplies
    by a noise tensor before the first linear layer."""
    serial, last = 1, 0  # 0: the model input
    outputs: dict[str, int] = {}
    inputs: dict[str, int] = {}
    rows = []
    first_linear = next((layer.name for layer in net.layers if layer.op == "linear"), None)
    for layer in net.layers:
        x = outputs[layer.source] if layer.source else last
        inputs[layer.name] = x
        ops: list[Op] = []
        if layer.name == first_linear and net.dropout:
            shape = Shape((1, layer.in_channels * layer.input_size[0] * layer.input_size[1]))
            ops.append(Op("mul", {"self": shape, "other": shape}, (shape,), Call("dropout"),
                          tensors={"self": x, "other": -1}, made=(serial,)))
            x, serial = serial, serial + 1
        for i, part in enumerate(parts(layer)):
            tensors = {}
            main = "input" if "input" in part.args else "mat1" if "mat1" in part.args else "self"
            tensors[main] = x if i == 0 or part.role != "add" else x
            if part.role == "add":
                tensors["other"] = inputs[layer.shortcut]
            elif layer.op == "mul":
                tensors = {"self": inputs[layer.operand], "other": x}
            elif part.role in ("qk", "av"):
                tensors["mat2"] = outputs[layer.other]  # type: ignore[attr-defined]  (AttentionMatmul)
            made = tuple(range(serial, serial + len(part.out)))
            serial += len(part.out)
            data = {"mat2": part.args["mat2"].numel // part.args["mat2"][0]} if part.role in ("qk", "av") else {}
            ops.append(Op(part.name, part.args, part.out, Call(part.role), params=part.params, data=data,
                          buffers=frozenset({"running_mean", "running_var"}) if part.role == "bn" else frozenset(),
                          tensors=tensors, made=made))
            x = made[0]
        outputs[layer.name] = last = x
        rows.append((layer, ops))
    return rows


def _frozen(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p.rstrip(".") + ".") for p in prefixes)


def train_rows(rows: Iterable[tuple[Layer, list[Op]]], trainable: dict[str, bool], batch: int = 1, scale: int = 1,
               dtype: str = "fp32") -> tuple[list[TrainRow], list[str]]:
    """Each row's step: ops recorded at `batch` (their counts times `scale`); and the ops no backward entry
    covers, named. A gradient is computed for an argument that requires grad; a saved tensor counts once."""
    size = DTYPES[dtype]
    requires: set[int] = set()
    counted: set[int] = set()
    result, unknown = [], []
    for layer, ops in rows:
        fwd = gi = gw = elems = nbytes = 0
        params: dict[str, int] = {}
        for op, cost in costed(ops):
            fwd += cost.macs
            for arg, key in op.params.items():
                params.setdefault(key, op.args[arg].numel)
            needs = frozenset({arg for arg, key in op.params.items() if trainable.get(key, True)} |
                              {arg for arg, t in op.tensors.items() if t in requires})
            if not needs:
                continue
            requires.update(op.made)
            macs = grad_macs(op.name, op.args, op.out)
            keeps = saved(op.name, op.args, op.out, needs)
            if macs is None or keeps is None:
                unknown.append(f"{op.name} in {layer.name}")
            for arg, n in (macs or {}).items():
                if arg in needs:
                    if arg in op.params:
                        gw += n
                    else:
                        gi += n
            for ref, shape in keeps or ():
                if ref in op.params or ref in op.buffers:
                    continue
                n, tensor = shape.numel * scale, op.made[int(ref[4:])] if ref.startswith("out.") else op.tensors.get(ref)
                if ref in op.data:  # torch.matmul folds a broadcast operand as a view at batch 1, else a copy
                    n, tensor = (op.data[ref], tensor) if batch * scale == 1 else (n, None)
                if ref in STATS and op.name in BATCH_NORMS:  # the batch's mean and inverse std: fp32, per channel
                    n = op.args["input"][1]
                if tensor is None or tensor not in counted:
                    counted.add(tensor) if tensor is not None else None
                    elems += n
                    nbytes += n * (4 if ref in STATS else size)
        own = [p for p in params]
        out = next((op.out[0].numel for op, _ in reversed(list(costed(ops))) if op.out), 0)
        result.append(TrainRow(layer.name, layer.kind, fwd * scale, gi * scale, gw * scale, elems, nbytes,
                               sum(params.values()),
                               sum(params[k] for k in own if trainable.get(k, True)), out * scale))
    return result, unknown
