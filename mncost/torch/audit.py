"""Audit anyone's PyTorch MobileNet: load it, record its conv and FC layers, hold them against the paper.

This runs the user's code (the import, the factory, forward). One forward pass on
a zero input records every nn.Conv2d and nn.Linear in execution order with its
shapes and the BatchNorm that consumes its output, and counts what executes:
each module's mult-adds from its forward hook on every call, the whole model's
from torch's FlopCounterMode (every conv and matmul dispatched, whether its
output is used or not). `mncost.torch.align` does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..arch.bounds import parse_classes, parse_resolution
from ..arch.builder import get_spec, network
from ..arch.layers import Layer, Size
from ..arch.spec import Spec
from ..arch.records import Shape
from ..cost.aten import op_cost
from ..cost.ops import LayerCost
from ..errors import MncostError
from .align import Audit, Entry, audit_entries
from .build import check_memory
from .target import USER_ERRORS, contained, load_target, one_line, user_code

COUNTED = ("Model mult-adds are what executed in one forward pass: every conv and matmul torch dispatched "
           "(FlopCounterMode), per layer from forward hooks on every call, used or discarded.")


def _side(value: Any) -> Any:
    """A square kernel/stride/padding as one int (as the paper's Layer has it), else the tuple."""
    if isinstance(value, tuple) and len(set(value)) == 1:
        return value[0]
    return value


def _diagnosis(module: nn.Module, name: str, x: Any, error: BaseException) -> str:
    """What the module that failed expects and what it got (a shape mismatch, typically)."""
    where = f"forward pass failed in {name or 'the model'} ({type(module).__name__})"
    shape = tuple(x.shape) if isinstance(x, torch.Tensor) else None
    if isinstance(module, nn.Linear) and shape and shape[-1] != module.in_features:
        return f"{where}: expects in_features {module.in_features}, gets input {shape} with {shape[-1]} features"
    if isinstance(module, nn.Conv2d) and shape and len(shape) > 1 and shape[1] != module.in_channels:
        return f"{where}: expects {module.in_channels} input channels, gets input {shape} with {shape[1]}"
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and shape and len(shape) > 1 \
            and shape[1] != module.num_features:
        return f"{where}: expects {module.num_features} features, gets input {shape} with {shape[1]}"
    got = f", input {shape}" if shape else ""
    return f"{where}{got}: {one_line(error)}"


def _first_input(args: tuple, kwargs: dict) -> Any:
    """A module's input: its first positional argument, else its first keyword argument."""
    return args[0] if args else next(iter(kwargs.values()), None)


@dataclass
class _Record:
    name: str
    module: nn.Module
    layer: Layer
    bn: nn.Module | None = None
    macs: int = 0  # over every call of the module


def _call_macs(module: nn.Module, x: torch.Tensor, output: torch.Tensor) -> int:
    """Multiply-adds of one conv or linear call, by the op registry's entry (mncost.cost.aten)."""
    out = Shape(output.shape)
    if isinstance(module, nn.Linear):
        rows = out.numel // out[-1]
        args = {"self": Shape((rows, module.in_features)), "mat2": Shape((module.in_features, module.out_features))}
        return op_cost("mm", args, (Shape((rows, out[-1])),)).macs
    args = {"input": Shape(x.shape), "weight": Shape(module.weight.shape), "bias": None, "stride": module.stride,
            "padding": module.padding, "dilation": module.dilation, "transposed": False, "output_padding": (0, 0),
            "groups": module.groups}
    return op_cost("convolution", args, (out,)).macs


class _Recorder:
    """Forward hooks: conv/linear layers in execution order with the mult-adds of every call,
    the BatchNorm fed by each, the module running."""

    def __init__(self, model: nn.Module) -> None:
        self.names = {module: name for name, module in model.named_modules()}
        self.records: dict[nn.Module, _Record] = {}  # in execution order; a module called twice is one record
        self.producer: dict[int, tuple[torch.Tensor, _Record]] = {}  # id(output) -> (output, record)
        self.stack: list[tuple[nn.Module, Any]] = []
        self.handles = [h for module in self.names
                        for h in (module.register_forward_pre_hook(self.enter, with_kwargs=True),
                                  module.register_forward_hook(self.leave, with_kwargs=True))]

    def enter(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        self.stack.append((module, _first_input(args, kwargs)))

    def leave(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        self.stack.pop()
        x = _first_input(args, kwargs)
        if isinstance(module, (nn.Conv2d, nn.Linear)) and isinstance(output, torch.Tensor):
            record = self.records.get(module)
            if record is None:
                record = _Record(self.names[module], module, _layer(self.names[module], module, x, output))
                self.records[module] = record
            record.macs += _call_macs(module, x, output)
            self.producer[id(output)] = (output, record)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            self._attach(module, x)

    def _attach(self, bn: nn.Module, x: Any) -> None:
        """Give a BatchNorm to the layer whose output it normalizes (else to the layer just before)."""
        _, record = self.producer.get(id(x), (None, None))
        if record is None and self.records:
            record = list(self.records.values())[-1]
        if record is not None and record.bn is None and record.layer.out_channels == bn.num_features:
            record.bn = bn

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _layer(name: str, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Layer:
    if isinstance(module, nn.Linear):
        return Layer(name, "linear", module.in_features, module.out_features, (1, 1), (1, 1),
                     bias=module.bias is not None)
    return Layer(name, "conv2d", module.in_channels, module.out_channels, tuple(x.shape[-2:]),
                 tuple(y.shape[-2:]), _side(module.kernel_size), _side(module.stride), _side(module.padding),
                 module.groups, bias=module.bias is not None)


def _trainable(module: nn.Module | None, recurse: bool = False) -> list[nn.Parameter]:
    if module is None:
        return []
    return [p for p in module.parameters(recurse=recurse) if p.requires_grad]


@dataclass(frozen=True)
class Extraction:
    """A model's conv and FC layers in execution order, with the mult-adds that executed and their params."""

    entries: list[Entry]
    macs: int  # every conv and matmul multiply-add that executed (torch's FlopCounterMode / 2)
    params: int  # every trainable parameter
    unowned: list[str]  # trainable parameters no recorded layer or its BatchNorm owns


def run_model(model: nn.Module, resolution: Size) -> tuple[list[_Record], int]:
    """One forward pass on a zero input, no gradients: the recorded layers and all mult-adds that executed.

    A failure, exit or Ctrl-C in forward becomes a one-line diagnosis."""
    x = torch.zeros(1, 3, *resolution)
    counter = FlopCounterMode(display=False)
    with user_code("the model's eval() raised "):
        model.eval()
    recorder = _Recorder(model)
    try:
        with contained(model), torch.no_grad(), counter:
            model(x)
    except MncostError:
        raise
    except USER_ERRORS as error:
        module, inputs = recorder.stack[-1] if recorder.stack else (model, x)
        raise MncostError(_diagnosis(module, recorder.names.get(module, ""), inputs, error)) from None
    finally:
        recorder.remove()
    if not recorder.records:
        raise MncostError("the model ran but has no nn.Conv2d or nn.Linear layer to audit")
    return list(recorder.records.values()), counter.get_total_flops() // 2  # 2 flops per multiply-add


def extract(model: nn.Module, resolution: Size) -> Extraction:
    """The model's conv and FC layers with the mult-adds that executed and their parameters."""
    records, macs = run_model(model, resolution)
    entries, owned = [], set()
    for r in records:
        weight, bias = _trainable(r.module), r.module.bias
        weights = sum(p.numel() for p in weight if p is not bias)
        bias_params = bias.numel() if bias is not None and bias.requires_grad else 0
        bn_params = sum(p.numel() for p in _trainable(r.bn))
        owned.update(id(p) for p in weight + _trainable(r.bn))
        layer = replace(r.layer, norm=r.bn is not None)
        entries.append(Entry(layer, LayerCost(r.macs, weights, bias_params, bn_params)))
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    return Extraction(entries, macs, sum(p.numel() for _, p in named),
                      [name for name, p in named if id(p) not in owned])


def audit(target: str, arch: str | Spec = "v1", alpha: float | str = 1.0, res: int | str = 224,
          classes: int | str | None = None) -> Audit:
    """Load TARGET (this runs its code), record its layers at this resolution, hold them against the paper."""
    resolution = parse_resolution(res)
    # A bad arch or alpha fails before the model is loaded, and so does a resolution too large to run.
    check_memory(network(arch, alpha, resolution, 1000), "a forward pass of")
    found = extract(load_target(target), resolution)
    num_classes = parse_classes(classes) if classes is not None else found.entries[-1].layer.out_channels
    net = network(arch, alpha, resolution, num_classes)
    return audit_entries(target, net, found.entries, found.macs, found.params, found.unowned,
                         arch if isinstance(arch, Spec) else get_spec(arch), [COUNTED])
