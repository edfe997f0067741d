"""Audit anyone's PyTorch MobileNet: load it, record its conv and FC layers, hold them against the paper.

One forward pass on a zero input records every nn.Conv2d and nn.Linear in
execution order with its shapes, and the BatchNorm that consumes its output;
fvcore counts each module's mult-adds. `mncost.align` does the rest.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..align import Audit, Entry, align, close, paper_entries
from ..archs import network, parse_classes, parse_resolution
from ..costs import LayerCost
from ..errors import MncostError
from ..layers import Layer, Size
from .count import count_modules

TARGET = re.compile(r"^(?P<source>[^:]+):(?P<name>[A-Za-z_][\w.]*)\s*(?P<call>\(.*\))?\s*$", re.S)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _import_source(source: str) -> Any:
    """The module of a file path (path/to/file.py) or a module path (package.module)."""
    if source.endswith(".py") or "/" in source or "\\" in source:
        path = Path(source)
        if not path.is_file():
            raise MncostError(f"cannot load {source!r}: no such file")
        spec = importlib.util.spec_from_file_location(f"mncost_audit_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.resolve().parent))  # so the file can import its neighbours
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            raise MncostError(f"cannot load {source!r}: {_one_line(error)}") from None
        finally:
            sys.path.remove(str(path.resolve().parent))
        return module
    try:
        return importlib.import_module(source)
    except Exception as error:
        raise MncostError(f"cannot import module {source!r}: {_one_line(error)}") from None


def _arguments(call: str | None, target: str) -> tuple[list[Any], dict[str, Any]]:
    """Literal arguments of NAME(key=literal, ...), parsed with ast.literal_eval (never eval)."""
    if not call:
        return [], {}
    try:
        node = ast.parse(f"f{call}", mode="eval").body
        if not isinstance(node, ast.Call):
            raise ValueError
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        if len(kwargs) != len(node.keywords):
            raise ValueError
    except (SyntaxError, ValueError):
        raise MncostError(f"target {target!r}: arguments must be literals, "
                          "as in NAME(width=1.0, classes=10)") from None
    return args, kwargs


def load_target(target: str) -> nn.Module:
    """The nn.Module a TARGET names: path/to/file.py:NAME or package.module:NAME, NAME(key=literal, ...)."""
    match = TARGET.match(target.strip())
    if not match:
        raise MncostError(f"target {target!r} is invalid; use path/to/file.py:NAME or package.module:NAME")
    module = _import_source(match["source"])
    obj: Any = module
    for part in match["name"].split("."):
        if not hasattr(obj, part):
            found = sorted(n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, nn.Module)
                           and v.__module__ == module.__name__)
            hint = f"; nn.Module classes there: {', '.join(found)}" if found else ""
            raise MncostError(f"{match['source']!r} has no {match['name']!r}{hint}")
        obj = getattr(obj, part)
    args, kwargs = _arguments(match["call"], target)
    if isinstance(obj, nn.Module) and not match["call"]:
        return obj
    if not callable(obj):
        raise MncostError(f"{match['name']!r} is not an nn.Module subclass or a factory "
                          f"(it is of type {type(obj).__name__})")
    try:
        model = obj(*args, **kwargs)
    except Exception as error:
        raise MncostError(f"{match['name']}(...) raised {_one_line(error)}") from None
    if not isinstance(model, nn.Module):
        raise MncostError(f"{match['name']}(...) returned a {type(model).__name__}, not an nn.Module")
    return model


def _side(value: Any) -> Any:
    """A square kernel/stride/padding as one int (as the paper's Layer has it), else the tuple."""
    if isinstance(value, tuple) and len(set(value)) == 1:
        return value[0]
    return value


def _diagnosis(module: nn.Module, name: str, x: Any, error: Exception) -> str:
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
    return f"{where}{got}: {_one_line(error)}"


def _first_input(args: tuple, kwargs: dict) -> Any:
    """A module's input: its first positional argument, else its first keyword argument."""
    return args[0] if args else next(iter(kwargs.values()), None)


@dataclass
class _Record:
    name: str
    module: nn.Module
    layer: Layer
    bn: nn.Module | None = None


class _Recorder:
    """Forward hooks: conv/linear layers in execution order, the BatchNorm fed by each, the module running."""

    def __init__(self, model: nn.Module) -> None:
        self.names = {module: name for name, module in model.named_modules()}
        self.records: list[_Record] = []
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
            if not any(r.module is module for r in self.records):  # a module called twice is recorded once
                record = _Record(self.names[module], module, _layer(self.names[module], module, x, output))
                self.records.append(record)
                self.producer[id(output)] = (output, record)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            self._attach(module, x)

    def _attach(self, bn: nn.Module, x: Any) -> None:
        """Give a BatchNorm to the layer whose output it normalizes (else to the layer just before)."""
        _, record = self.producer.get(id(x), (None, None))
        if record is None and self.records:
            record = self.records[-1]
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
    """A model's conv and FC layers in execution order, with fvcore's mult-adds and their params."""

    entries: list[Entry]
    macs: int  # fvcore's conv + linear (+ matmul) mult-adds of the whole model
    params: int  # every trainable parameter
    unowned: list[str]  # trainable parameters no recorded layer or its BatchNorm owns


def run_model(model: nn.Module, resolution: Size) -> list[_Record]:
    """One forward pass on a zero input, no gradients; a failure becomes a one-line diagnosis."""
    x = torch.zeros(1, 3, *resolution)
    model.eval()
    recorder = _Recorder(model)
    try:
        with torch.no_grad():
            model(x)
    except Exception as error:
        module, inputs = recorder.stack[-1] if recorder.stack else (model, x)
        raise MncostError(_diagnosis(module, recorder.names.get(module, ""), inputs, error)) from None
    finally:
        recorder.remove()
    if not recorder.records:
        raise MncostError("the model ran but has no nn.Conv2d or nn.Linear layer to audit")
    return recorder.records


def extract(model: nn.Module, resolution: Size) -> Extraction:
    """The model's conv and FC layers with their measured costs."""
    records = run_model(model, resolution)
    try:
        counts = count_modules(model, torch.zeros(1, 3, *resolution), [r.name for r in records])
    except Exception as error:
        raise MncostError(f"fvcore could not trace the model: {_one_line(error)}") from None
    entries, owned = [], set()
    for r in records:
        weight, bias = _trainable(r.module), r.module.bias
        weights = sum(p.numel() for p in weight if p is not bias)
        bias_params = bias.numel() if bias is not None and bias.requires_grad else 0
        bn_params = sum(p.numel() for p in _trainable(r.bn))
        owned.update(id(p) for p in weight + _trainable(r.bn))
        layer = replace(r.layer, norm=r.bn is not None)
        entries.append(Entry(layer, LayerCost(counts[r.name].macs, weights, bias_params, bn_params)))
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    return Extraction(entries, counts[""].macs, sum(p.numel() for _, p in named),
                      [name for name, p in named if id(p) not in owned])


def audit(target: str, arch: str = "v1", alpha: float | str = 1.0, res: int | str = 224,
          classes: int | str | None = None) -> Audit:
    """Load TARGET, record its layers at this resolution, and hold them against the paper's Network."""
    resolution = parse_resolution(res)
    network(arch, alpha, resolution, 1000)  # a bad arch or alpha fails before the model is loaded
    found = extract(load_target(target), resolution)
    num_classes = parse_classes(classes) if classes is not None else found.entries[-1].layer.out_channels
    net = network(arch, alpha, resolution, num_classes)
    steps = align(found.entries, paper_entries(net))
    return close(target, net, steps, found.macs, found.params, found.unowned)
