"""Record what a model executes: every torch call, the aten ops under it, and the module it ran in.

One forward pass (eval, no_grad) under two modes: a TorchFunctionMode sees each call at the
Python API level (F.relu, torch.add, `x + y` as Tensor.__add__, x.mean), which is what hook-
and patch-based counters key on; a TorchDispatchMode sees the aten ops each call executes,
which is what runs. Forward pre/post hooks on every module say which module each call ran in.
The record is plain data (shapes, names, tensor ids); mncost.torch.fold turns it into Layer rows.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ..arch.layers import Network
from ..errors import MncostError
from .fold import Aten, Call, Trace, network_of
from .target import USER_ERRORS, contained, load_target, one_line, user_code

# Tensor methods an operator also reaches, and the operator's name: `x + y` is Tensor.add at __torch_function__
OPERATORS = {"add": "__add__", "add_": "__iadd__", "mul": "__mul__", "mul_": "__imul__", "matmul": "__matmul__",
             "sub": "__sub__", "div": "__truediv__"}

def function_name(func: Any) -> str:
    """A torch callable as users write it: F.relu, torch.add, Tensor.__add__, Tensor.mean."""
    if hasattr(func, "tensor_method"):
        return f"Tensor.{func.tensor_method}"
    name = getattr(func, "__name__", None) or type(func).__name__
    owner = getattr(func, "__objclass__", None)
    if owner is not None and issubclass(owner, torch._C.TensorBase):
        return f"Tensor.{name}"
    if getattr(func, "__self__", None) is not None and isinstance(func.__self__, type) \
            and issubclass(func.__self__, torch._C.TensorBase):
        return f"Tensor.{name}"
    module = getattr(func, "__module__", None) or ""
    if module.startswith("torch.nn.functional") or module.startswith("torch._C._nn"):
        return f"F.{name}"
    return f"torch.{name}"


def _shape(value: Any) -> Any:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else value


def _is_op_module(module: nn.Module) -> bool:
    """A torch.nn module without children (nn.ReLU, nn.Conv2d, ...), whose forward is one op."""
    return type(module).__module__.startswith("torch.nn.") and not any(True for _ in module.children())


class _Recorder(TorchFunctionMode):
    """Python-level calls, attributed to the innermost running module (kept by forward hooks)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.names = {module: name for name, module in model.named_modules(remove_duplicate=False)}
        self.stack: list[nn.Module] = []
        self.calls: list[Call] = []
        self.current: Call | None = None
        self.keep: list[torch.Tensor] = []  # tensors whose ids are recorded stay alive, so ids stay unique
        self.param_views: dict[int, int] = {}  # id of a view of a parameter -> the parameter's elements
        self.explicit = False  # set while a Tensor method is called by name (x.add(y)), not by an operator
        self.handles = [h for module in dict.fromkeys(self.names)
                        for h in (module.register_forward_pre_hook(self.enter),
                                  module.register_forward_hook(self.leave))]

    def enter(self, module: nn.Module, args: Any) -> None:
        self.stack.append(module)

    def leave(self, module: nn.Module, args: Any, output: Any) -> None:
        self.stack.pop()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if self.current is not None:  # nested in a call already being recorded
            return func(*args, **kwargs)
        module = self.stack[-1] if self.stack else None
        name = function_name(func)
        method = name.removeprefix("Tensor.")
        if method in OPERATORS and method != name and not self.explicit:
            name = f"Tensor.{OPERATORS[method]}"
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        call = Call(name, self.names.get(module, ""), type(module).__name__ if module else "",
                    module is not None and _is_op_module(module),
                    [_shape(a) for a in args], {k: _shape(v) for k, v in kwargs.items()},
                    [id(t) for t in tensors])
        self.current = call
        try:
            out = func(*args, **kwargs)
        finally:
            self.current = None
        call.params = sum(t.numel() if isinstance(t, nn.Parameter) else self.param_views.get(id(t), 0) for t in tensors)
        if call.params and not call.costly:  # gamma.view(1, -1, 1, 1): the view still reads the parameter
            view = next((t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)), None)
            if view is not None:
                self.param_views[id(view)] = call.params
                self.keep.append(view)
        if call.costly:
            first = next((t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)), None)
            if first is not None:
                call.output, call.shape = id(first), tuple(first.shape)
                self.keep.append(first)
            self.keep.extend(tensors)
            self.calls.append(call)
        return out


class _Aten(TorchDispatchMode):
    """The aten ops each recorded call executes."""

    def __init__(self, recorder: _Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        call = self.recorder.current
        if call is not None:
            first = next((t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)), None)
            call.aten.append(Aten(func.overloadpacket.__name__,
                                  tuple(tuple(a.shape) for a in tree_flatten(args)[0] if isinstance(a, torch.Tensor)),
                                  tuple(first.shape) if first is not None else None))
        return out


def _named(recorder: _Recorder, name: str, method: Any) -> Any:
    """A Tensor method that, called by name, tells the recorder so (the operator form does not pass here)."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outer, recorder.explicit = recorder.explicit, True
        try:
            return method(*args, **kwargs)
        finally:
            recorder.explicit = outer
    wrapper.tensor_method = name  # what __torch_function__ receives for both `x + y` and x.add(y)
    return wrapper


@contextmanager
def _named_methods(recorder: _Recorder) -> Iterator[None]:
    """Tensor.add, .mul, .matmul, ... wrapped while tracing: `x + y` and `x.add(y)` reach __torch_function__
    with the same function, and hook- or patch-based counters see only the named call."""
    originals = {name: getattr(torch.Tensor, name) for name in OPERATORS}
    try:
        for name, method in originals.items():
            setattr(torch.Tensor, name, _named(recorder, name, method))
        yield
    finally:
        for name, method in originals.items():
            setattr(torch.Tensor, name, method)


def trace(model: nn.Module, x: torch.Tensor) -> Trace:
    """One forward pass of model on x (eval, no_grad), recorded; a failure is one line naming the module."""
    with user_code("the model's eval() raised "):
        model.eval()
    recorder = _Recorder(model)
    try:
        with contained(model), torch.no_grad(), _named_methods(recorder), recorder, _Aten(recorder):
            model(x)
    except MncostError:
        raise
    except USER_ERRORS as error:
        where = recorder.names.get(recorder.stack[-1], "") if recorder.stack else ""
        raise MncostError(f"forward pass on input {tuple(x.shape)} failed in {where or 'the model'}"
                          f"{f' ({type(recorder.stack[-1]).__name__})' if recorder.stack else ''}: "
                          f"{one_line(error)}") from None
    finally:
        recorder.remove()
    return Trace(tuple(recorder.calls), {name: type(m).__name__ for name, m in model.named_modules()})


MAX_INPUT_ELEMENTS = 3 * 4096 * 4096  # a 4096x4096 RGB image: the activations of a real model are many times more


def parse_input(text: str) -> tuple[int, ...]:
    """An input shape NxCxHxW (batch 1), as in --input 1x3x224x224."""
    try:
        shape = tuple(int(side) for side in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) != 4 or min(shape) < 1:
        raise MncostError(f"input {text!r} is invalid; use NxCxHxW with positive sides, as in 1x3x224x224")
    if shape[0] != 1:
        raise MncostError(f"input {text!r}: counts are per image; use batch 1, as in 1x{'x'.join(map(str, shape[1:]))}")
    if shape[1] * shape[2] * shape[3] > MAX_INPUT_ELEMENTS:
        raise MncostError(f"input {text!r} has more than {MAX_INPUT_ELEMENTS:,} elements; a forward pass on it "
                          "would not fit in memory")
    return shape


def model_network(target: str, shape: tuple[int, ...] = (1, 3, 224, 224)) -> tuple[nn.Module, Network]:
    """Load TARGET, trace one forward pass on a zero input of this shape, and return it with its Network."""
    model = load_target(target)
    return model, network_of(trace(model, torch.zeros(shape)), target, shape[2:])
