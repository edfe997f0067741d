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
from .layout import layer_records
from .ops import BATCH_NORMS, costed

OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}  # fp32 state tensors per trainable parameter
DTYPES = {"fp32": 4, "bf16-mixed": 2, "fp16-mixed": 2}  # bytes per element of an activation or its gradient
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
    fixed: int = 0  # of the saved bytes, those that do not grow with the batch (BatchNorm statistics, weight copies)

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
        for op in layer_records(layer)[0]:
            main = "input" if "input" in op.args else "mat1" if "mat1" in op.args else "self"
            tensors = {main: x}
            if op.name == "add":
                tensors["other"] = inputs[layer.shortcut]
            elif layer.op == "mul":
                tensors = {"self": inputs[layer.operand], "other": x}
            elif op.name == "bmm":
                tensors["mat2"] = outputs[layer.other]  # type: ignore[attr-defined]  (AttentionMatmul)
            made = tuple(range(serial, serial + len(op.out)))
            serial += len(op.out)
            ops.append(replace(op, tensors=tensors, made=made))
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
    mixed = dtype != "fp32"
    widths: dict[int, int] = {}  # bytes per element of each tensor made (the model's input: fp32)
    requires: set[int] = set()
    counted: set[Any] = set()
    result, unknown = [], []
    for layer, ops in rows:
        fwd = gi = gw = elems = nbytes = fixed = 0
        params: dict[str, int] = {}
        for op, cost in costed(ops):
            fwd += cost.macs
            for arg, key in op.params.items():
                params.setdefault(key, op.args[arg].numel)
            needs = frozenset({arg for arg, key in op.params.items() if trainable.get(key, True)} |
                              {arg for arg, t in op.tensors.items() if t in requires})
            for made in op.made:
                widths[made] = _output_width(op, widths) if mixed else 4
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
                tensor, n, width = _saved_tensor(op, ref, shape, widths, mixed, batch * scale == 1)
                if n and (tensor is None or tensor not in counted):
                    if tensor is not None:
                        counted.add(tensor)
                    constant = ref in op.params or (ref in STATS and op.name in BATCH_NORMS)
                    n *= 1 if constant else scale
                    elems += n
                    nbytes += n * width
                    fixed += n * width if constant else 0
        out = next((op.out[0].numel for op, _ in reversed(list(costed(ops))) if op.out), 0)
        result.append(TrainRow(layer.name, layer.kind, fwd * scale, gi * scale, gw * scale, elems, nbytes,
                               sum(params.values()),
                               sum(n for k, n in params.items() if trainable.get(k, True)), out * scale, fixed))
    return result, unknown


# the ops autocast runs in 16 bits (its lower-precision list on CPU, of those with a backward entry): they cast
# their tensor arguments (a parameter once per step, cached; an activation at each op) and save the copies
LOW_PRECISION = frozenset({"convolution", "_convolution", "mm", "bmm", "addmm", "baddbmm", "mv", "addmv", "dot"})
NORMS = frozenset(BATCH_NORMS | {"native_layer_norm", "native_group_norm"})


def _saved_tensor(op: Op, ref: str, shape: Shape, widths: dict[int, int], mixed: bool,
                  single: bool) -> tuple[Any, int, int]:
    """(identity or None for a fresh copy, elements for the recorded batch, bytes per element) of a tensor an
    op's node saves; 0 elements: not extra memory (a parameter or buffer, unless autocast copied it)."""
    cast = mixed and op.name in LOW_PRECISION
    if ref in op.buffers or (ref in op.params and not cast):
        return None, 0, 0
    if ref in op.params:  # autocast's cached 16-bit copy of a weight
        return ("param", op.params[ref]), shape.numel, 2
    if ref in STATS and op.name in BATCH_NORMS:  # the batch's mean and inverse std: fp32, per channel
        return op.made[int(ref[4:])], op.args["input"][1], 4
    tensor = op.made[int(ref[4:])] if ref.startswith("out.") else op.tensors.get(ref)
    source = op.tensors["self"] if op.call.function == "dropout" else tensor  # the noise: its input's dtype
    width = widths.get(source, 4) if source is not None else 4
    n = shape.numel
    if ref in op.data:  # torch.matmul folds a broadcast operand as a view at batch 1, else a copy
        n, tensor = (op.data[ref], tensor) if single else (n, None)
    if cast and not ref.startswith("out.") and width == 4:
        tensor, width = None, 2  # autocast casts an fp32 activation afresh
    return tensor, n, 2 if cast else width


def _output_width(op: Op, widths: dict[int, int]) -> int:
    """Bytes per element of an op's output under autocast: 16 bits from a low-precision op, a norm's input's
    width, else the widest of its tensor arguments (a 16-bit activation times an fp32 parameter is fp32)."""
    if op.name in LOW_PRECISION:
        return 2
    inputs = [widths.get(t, 4) for t in op.tensors.values()]
    if op.name in NORMS:
        return inputs[0] if inputs else 4
    return max(inputs + [4 for arg in op.params if isinstance(op.args.get(arg), Shape)], default=4)


def parse_memory(text: str) -> int:
    """A memory size in bytes: 24GB, 512MiB, 1.5TB, or plain bytes."""
    value = text.strip().upper().replace(" ", "")
    number = value.rstrip("KMGTIB")
    unit = value[len(number):]
    try:
        size = float(number) * UNITS[unit]
    except (ValueError, KeyError):
        size = 0
    if not 1 <= size <= 2**80:  # nan and inf too
        raise MncostError(f"memory {text!r} is invalid; use a size such as 24GB, 512MB or 16GiB "
                          "(at most 2**80 bytes)")
    return int(size)


def parse_batch(batch: str | int | None) -> int:
    """--batch for a built-in arch: a whole number >= 1 (default 1)."""
    try:
        n = int(batch) if batch is not None else 1
    except ValueError:
        n = 0
    if n < 1:
        raise MncostError(f"batch {batch!r} is invalid; use a whole number >= 1, as in --batch 8")
    return n


def check_choices(optimizer: str, dtype: str, batch: int) -> None:
    """One line for an optimizer, dtype or batch mncost has no model of."""
    if optimizer not in OPTIMIZERS:
        raise MncostError(f"optimizer {optimizer!r} is unknown; use one of {', '.join(OPTIMIZERS)}")
    if dtype not in DTYPES:
        raise MncostError(f"dtype {dtype!r} is unknown; use one of {', '.join(DTYPES)}")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise MncostError(f"batch {batch!r} is invalid; use a whole number >= 1, as in --batch 8")


INCLUDES = ("Peak: parameters (fp32), their gradients and the optimizer's state (fp32), every tensor autograd "
            "saves for backward (each storage once), and during backward the gradients made so far plus one "
            "layer's gradient pair (its output's and input's), the largest such moment of the step.")
EXCLUDES = ("Not included: torch's own memory (the library, its allocator's caching and fragmentation), the "
            "data loader, the input batch's copies, workspace of fused kernels, and any tensor the model keeps "
            "outside autograd.")


@dataclass(frozen=True)
class Train(Shown):
    """A training step's costs per layer and its memory, exact for the batch."""

    arch: str
    rows: tuple[TrainRow, ...]
    batch: int
    optimizer: str = "sgd"
    dtype: str = "fp32"
    frozen: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    per_image: tuple[TrainRow, ...] = ()  # the rows at batch 1, for --memory (every term linear in the batch)

    @property
    def totals(self) -> dict[str, int]:
        rows = self.rows
        params = sum(r.params for r in rows)
        trainable = sum(r.trainable for r in rows)
        return {"forward": sum(r.forward for r in rows), "grad_input": sum(r.grad_input for r in rows),
                "grad_weight": sum(r.grad_weight for r in rows), "backward": sum(r.backward for r in rows),
                "params": params, "trainable": trainable, "saved_bytes": sum(r.saved_bytes for r in rows)}

    def memory(self, rows: tuple[TrainRow, ...] | None = None) -> dict[str, int]:
        """Bytes of a step: params, grads, optimizer state, saved activations, and the step's peak."""
        rows = self.rows if rows is None else rows
        size = DTYPES[self.dtype]
        params = 4 * sum(r.params for r in rows)
        grads = [4 * r.trainable for r in rows]
        state = OPTIMIZERS[self.optimizer] * sum(grads)
        saved = [r.saved_bytes for r in rows]
        peak, live_saved, made = 0, sum(saved), 0
        for i in reversed(range(len(rows))):  # backward: the layer's gradient pair, its weights' grads appear
            inward = rows[i - 1].output if i else 0
            peak = max(peak, live_saved + made + size * (rows[i].output + inward) + grads[i])
            live_saved -= saved[i]
            made += grads[i]
        return {"params": params, "grads": sum(grads), "optimizer": state, "saved": sum(saved),
                "peak": params + state + peak}

    def largest_batch(self, budget: int) -> int:
        """The largest batch whose step's peak fits in budget bytes (0: not even one image)."""
        if not self.per_image and self.batch > 1:
            raise MncostError("the largest batch needs the step at batch 1: trace with memory=True")
        low, high = 0, 1  # the peak grows with the batch: double, then halve the gap
        while self._peak_at(high) <= budget:
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if self._peak_at(middle) <= budget else (low, middle)
        return low

    def _peak_at(self, batch: int) -> int:
        rows = tuple(replace(r, saved_bytes=(r.saved_bytes - r.fixed) * batch + r.fixed, output=r.output * batch)
                     for r in (self.per_image or self.rows))
        return self.memory(rows)["peak"]

    def to_table(self) -> Table:
        rows = [{"layer": r.name, "type": r.kind, "forward": r.forward, "grad_input": r.grad_input,
                 "grad_weight": r.grad_weight, "ratio": _ratio(r), "saved": r.saved_bytes, "params": r.params,
                 "frozen": r.params - r.trainable, "activations": r.output} for r in self.rows]
        t = self.totals
        totals = {"layer": "Total", "forward": t["forward"], "grad_input": t["grad_input"],
                  "grad_weight": t["grad_weight"], "ratio": _ratio_of(t["backward"], t["forward"]),
                  "saved": t["saved_bytes"], "params": t["params"], "frozen": t["params"] - t["trainable"],
                  "activations": sum(r.output for r in self.rows)}
        return Table(
            title=f"{self.arch}: a training step at batch {self.batch}, {self.dtype}, {self.optimizer}",
            columns=[Column("layer", "Layer"), Column("type", "Type"), Column("forward", "Forward", "count"),
                     Column("grad_input", "Grad-input", "count"), Column("grad_weight", "Grad-weight", "count"),
                     Column("ratio", "Bwd/Fwd"), Column("saved", "Saved bytes", "count"),
                     Column("params", "Params", "count", hide=2), Column("frozen", "Frozen", "count", hide=3),
                     Column("activations", "Activations", "count", hide=4)],
            rows=rows, totals=totals, footer=self.footer())

    def footer(self) -> list[str]:
        m, t = self.memory(), self.totals
        lines = [f"Mult-adds (conv, FC, attention matmuls) for the batch: forward {t['forward']:,}, backward "
                 f"{t['backward']:,} (grad-input {t['grad_input']:,}, grad-weight {t['grad_weight']:,}): "
                 f"{_ratio_of(t['backward'], t['forward'])} the forward. The first layer computes no grad-input, "
                 "a frozen weight no grad-weight.",
                 f"Memory: params {human(m['params'])}B, grads {human(m['grads'])}B, {self.optimizer} state "
                 f"{human(m['optimizer'])}B, saved activations {human(m['saved'])}B; peak of a step "
                 f"{human(m['peak'])}B ({m['peak']:,} bytes).", INCLUDES, EXCLUDES]
        if self.frozen:
            lines.append(f"Frozen: {', '.join(self.frozen)} ({t['params'] - t['trainable']:,} params).")
        if self.dtype != "fp32":
            lines.append(f"{self.dtype} (autocast): activations of 2 bytes from conv, FC and matmul on, fp32 where "
                         "one meets an fp32 parameter; BatchNorm statistics fp32; saved also: autocast's 16-bit copy "
                         "of each weight and of an fp32 input. Weights, grads and optimizer state stay fp32.")
        return lines + [f"{op}: no backward entry, not counted" for op in self.unknown] + list(self.notes)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.arch, "batch": self.batch, "optimizer": self.optimizer, "dtype": self.dtype,
                "frozen": list(self.frozen), "totals": self.totals, "memory": self.memory(),
                "includes": INCLUDES, "excludes": EXCLUDES,
                "layers": [{**vars(r), "backward": r.backward, "ratio": r.ratio} for r in self.rows],
                "unknown": list(self.unknown), "notes": list(self.notes)}


def _ratio_of(backward: int, forward: int) -> str:
    return f"{backward / forward:.2f}x" if forward else "-"


def _ratio(row: TrainRow) -> str:
    return _ratio_of(row.backward, row.forward)


def trainable_of(keys: Iterable[str], frozen: tuple[str, ...], own: dict[str, bool] | None = None) -> dict[str, bool]:
    """Each parameter key: trainable unless a --freeze prefix names it (or the model's own requires_grad)."""
    return {k: (own or {}).get(k, True) and not _frozen(k, frozen) for k in keys}


def network_train(net: Network, batch: int = 1, optimizer: str = "sgd", dtype: str = "fp32",
                  freeze: tuple[str, ...] = ()) -> Train:
    """A built-in arch's training step, analytically: its layout's ops at batch 1, times the batch."""
    check_choices(optimizer, dtype, batch)
    ops = builtin_ops(net)
    keys = {key for _, layer_ops in ops for op in layer_ops for key in op.params.values()}
    check_freeze(freeze, keys)
    trainable = trainable_of(keys, freeze)
    rows, unknown = train_rows(ops, trainable, 1, batch, dtype)
    one = train_rows(ops, trainable, 1, 1, dtype)[0] if batch > 1 else rows
    notes = ("BatchNorm in training mode needs more than one value per channel: at batch 1 torch refuses the "
             "BatchNorm after a 1x1 pool.",) if batch == 1 and any(
        layer.norm and layer.output_size == (1, 1) for layer in net.layers) else ()
    return Train(f"{net.arch} alpha {net.alpha:g} {net.resolution[0]}x{net.resolution[1]}", tuple(rows), batch,
                 optimizer, dtype, freeze, tuple(unknown), notes, tuple(one))


def check_freeze(freeze: tuple[str, ...], keys: Iterable[str]) -> None:
    """A --freeze prefix that names no parameter is one line, never silently ignored."""
    keys = list(keys)
    for prefix in freeze:
        if not any(_frozen(k, (prefix,)) for k in keys):
            sample = ", ".join(sorted({k.split(".")[0] for k in keys})[:6])
            raise MncostError(f"--freeze {prefix!r} names no parameter; parameters start with {sample}, ...")
