"""Audit anyone's PyTorch MobileNet: load it, record its conv and FC layers, hold them against the paper.

This runs the user's code (the import, the factory, forward). One forward pass on
a zero input records every nn.Conv2d and nn.Linear in execution order with its
shapes and the BatchNorm that consumes its output, and counts what executes:
each module's mult-adds from its forward hook on every call, the whole model's
from torch's FlopCounterMode (every conv and matmul dispatched, whether its
output is used or not). `mncost.align` does the rest.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..align import Audit, Entry, audit_entries
from ..archs import Spec, get_spec, network, parse_classes, parse_resolution
from ..costs import LayerCost
from ..errors import MncostError
from ..layers import Layer, Size
from .build import check_memory

TARGET = re.compile(r"^(?P<source>[^:]+):(?P<name>[A-Za-z_][\w.]*)\s*(?P<call>\(.*\))?\s*$", re.S)


COUNTED = ("Model mult-adds are what executed in one forward pass: every conv and matmul torch dispatched "
           "(FlopCounterMode), per layer from forward hooks on every call, used or discarded.")
USER_ERRORS = (Exception, SystemExit, KeyboardInterrupt)  # everything user code can raise at us
# Where a target's callable may come from: not the standard library, builtins, or torch's own functions.
REFUSED_ORIGINS = sys.stdlib_module_names | {"torch"}


def _one_line(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"SystemExit: sys.exit({'' if error.code is None else repr(error.code)}) was called"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@contextlib.contextmanager
def _user_code(message: str) -> Iterator[None]:
    """Run user code with its prints on stderr; any exception, exit or Ctrl-C becomes one MncostError."""
    sys.stdout.flush()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except MncostError:
        raise
    except USER_ERRORS as error:
        raise MncostError(f"{message}{_one_line(error)}") from None


def _origin(obj: Any) -> str:
    """The top-level package an object is defined in ('' when unknown)."""
    return (getattr(obj, "__module__", None) or "").split(".")[0]


def _refuse_origin(target: str, origin: str) -> None:
    """Refuse a target from the standard library or torch itself: audit would run it, and it is no model."""
    if origin in REFUSED_ORIGINS:
        where = "torch itself" if origin == "torch" else f"the standard library ({origin!r})"
        raise MncostError(f"target {target!r} comes from {where}; audit runs the code a target names, so it only "
                          "calls nn.Module classes and model factories from model code")


def _is_path(source: str) -> bool:
    return source.endswith(".py") or "/" in source or "\\" in source


def _import_source(source: str) -> Any:
    """The module of a file path (path/to/file.py) or a module path (package.module)."""
    if _is_path(source):
        path = Path(source)
        if not path.is_file():
            raise MncostError(f"cannot load {source!r}: no such file")
        spec = importlib.util.spec_from_file_location(f"mncost_audit_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.resolve().parent))  # so the file can import its neighbours
        try:
            with _user_code(f"cannot load {source!r}: "):
                spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.resolve().parent))
        return module
    with _user_code(f"cannot import module {source!r}: "):
        return importlib.import_module(source)


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
    package = match["source"].split(".")[0]
    if not _is_path(match["source"]) and package != "torch":  # torch.nn:Conv2d is a module; torch's callables
        _refuse_origin(target, package)                        # are refused below, once looked up
    module = _import_source(match["source"])
    obj: Any = module
    with _user_code(f"looking up {match['name']!r} raised "):  # a module's __getattr__ is user code too
        for part in match["name"].split("."):
            if not hasattr(obj, part):
                found = sorted(n for n, v in vars(module).items() if isinstance(v, type)
                               and issubclass(v, nn.Module) and v.__module__ == module.__name__)
                hint = f"; nn.Module classes there: {', '.join(found)}" if found else ""
                raise MncostError(f"{match['source']!r} has no {match['name']!r}{hint}")
            obj = getattr(obj, part)
    args, kwargs = _arguments(match["call"], target)
    if isinstance(obj, nn.Module) and not match["call"]:
        return obj
    if not callable(obj) or (isinstance(obj, type) and not issubclass(obj, nn.Module)):
        raise MncostError(f"{match['name']!r} is not an nn.Module subclass or a factory "
                          f"(it is of type {type(obj).__name__})")
    if not (isinstance(obj, type) and issubclass(obj, nn.Module)):
        _refuse_origin(target, _origin(obj))
    with _user_code(f"{match['name']}(...) raised "):
        model = obj(*args, **kwargs)
    if not isinstance(model, nn.Module):
        raise MncostError(f"{match['name']}(...) returned a {type(model).__name__}, not an nn.Module")
    return model


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
    macs: int = 0  # over every call of the module


def _call_macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds of one conv or linear call: each output element takes one weight row."""
    return output.numel() * (module.weight.numel() // module.weight.shape[0])


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
            record.macs += _call_macs(module, output)
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
    with _user_code("the model's eval() raised "):
        model.eval()
    recorder = _Recorder(model)
    try:
        with contextlib.redirect_stdout(sys.stderr), torch.no_grad(), counter:
            model(x)
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
