"""Record what a model executes, at the level torch dispatches: every aten op with its shapes, the torch
call it ran under and the module it ran in, and every module call.

One forward pass (eval, no_grad) under two modes: a TorchDispatchMode sees each aten op that runs; a
TorchFunctionMode sees the call a user wrote (F.relu, torch.add, `x + y` as Tensor.__add__), which
hook- and patch-based counters key on. Forward hooks on every module say which module is running.
Only shapes are kept, never tensors: parameters are known by identity, and every other tensor by a weak
reference (torch.utils.weak), so memory does not grow with the activations. mncost.torch.fold turns the
record into rows.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

from ..arch.records import Call, Module, ModuleCall, Shape
from ..cost.aten import REGISTRY
from ..errors import MncostError
from .target import USER_ERRORS, contained, one_line, user_code

# aten ops that view, copy, allocate or fill: no arithmetic, no row (their outputs alias their first input)
FREE = frozenset({
    "view", "_unsafe_view", "reshape", "_reshape_alias", "t", "transpose", "permute", "expand", "squeeze",
    "unsqueeze", "select", "slice", "split", "split_with_sizes", "unsafe_split", "unbind", "chunk", "narrow",
    "alias", "detach", "as_strided", "unfold", "diagonal", "view_as_real", "view_as_complex", "squeeze_",
    "unsqueeze_", "transpose_", "t_", "clone", "contiguous", "_to_copy", "to", "copy_", "lift_fresh",
    "lift_fresh_copy", "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like",
    "full", "full_like", "new_empty", "new_zeros", "new_ones", "new_full", "scalar_tensor", "arange", "fill_",
    "zero_", "uniform_", "normal_", "dropout", "native_dropout", "feature_dropout", "alpha_dropout",
    "_local_scalar_dense", "sym_size", "sym_numel", "sym_stride", "is_same_size", "resolve_conj", "resolve_neg",
    "_assert_async", "_assert_tensor_metadata", "set_", "resize_", "detach_",
})
# torch calls recorded as one composite aten op (their decomposition is kept for dispatch-level counters)
COMPOSITES = {"torch.einsum": "einsum", "torch.instance_norm": "instance_norm", "F.instance_norm": "instance_norm",
              "F.rms_norm": "rms_norm", "torch.rms_norm": "rms_norm", **{f"torch.{k}": k for k in (
                  "lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell")}}
# modules whose native fast path torch skips while any TorchFunctionMode is active: traced without it
FAST_PATHS = (nn.MultiheadAttention, nn.TransformerEncoderLayer, nn.TransformerEncoder)
# Tensor methods an operator reaches too, and the operator: `x + y` and `x.add(y)` are both Tensor.add at
# __torch_function__; while tracing, the named methods are wrapped (as ptflops patches them) to tell them apart
OPERATORS = {"add": "__add__", "add_": "__iadd__", "mul": "__mul__", "mul_": "__imul__", "matmul": "__matmul__",
             "sub": "__sub__", "sub_": "__isub__", "div": "__truediv__", "div_": "__itruediv__"}
ATTRS = frozenset(("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "in_features",
         "out_features", "num_features", "affine", "elementwise_affine", "num_groups", "normalized_shape", "mode",
         "dim", "num_heads", "head_dim", "embed_dim", "kdim", "vdim", "batch_first", "hidden_size", "input_size",
         "num_layers", "bidirectional", "bias", "proj_size", "output_size", "inplace", "p"))


def _names() -> dict[int, str]:
    """Torch callables as users write them: F.relu, torch.add, Tensor.add (F first: F.conv2d is torch.conv2d)."""
    names: dict[int, str] = {}
    for prefix, owner in (("Tensor", torch.Tensor), ("torch", torch), ("F", F)):
        for name in dir(owner):
            obj = getattr(owner, name, None)
            if callable(obj) and not isinstance(obj, type):
                names[id(obj)] = f"{prefix}.{name}"
    return names


NAMES = _names()


def function_name(func: Any) -> str:
    """A torch callable as users write it: F.relu, torch.add, Tensor.__add__, Tensor.mean."""
    known = NAMES.get(id(func))
    if known is not None:
        return known
    if hasattr(func, "tensor_method"):  # a Tensor method wrapped while tracing (_named_methods)
        return f"Tensor.{func.tensor_method}"
    name = getattr(func, "__name__", None) or type(func).__name__
    owner = getattr(func, "__objclass__", None) or getattr(getattr(func, "__self__", None), "__class__", None)
    if isinstance(owner, type) and issubclass(owner, torch._C.TensorBase):
        return f"Tensor.{name}"
    return f"torch.{name}"


PLAIN = frozenset({int, float, bool, str, type(None)})


def _value(value: Any) -> Any:
    """An argument as plain data: a tensor as its Shape, lists as tuples, dtypes and devices as text."""
    if type(value) in PLAIN:
        return value
    if isinstance(value, torch.Tensor):
        return Shape(value.shape)
    if isinstance(value, (list, tuple)):
        return tuple(_value(v) for v in value)
    if isinstance(value, (torch.dtype, torch.device, torch.memory_format, torch.layout)):
        return str(value)
    return value


def _first_tensor(value: Any) -> torch.Tensor | None:
    """torchinfo's rule for a module's output: the first tensor of nested lists and tuples, a dict's last value."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict) and value:
        return _first_tensor(list(value.values())[-1])
    if isinstance(value, (list, tuple)) and value:
        return _first_tensor(value[0])
    return None


@dataclass
class Raw:
    """One aten op as recorded, before rows: the fold turns it into a records.Op."""

    name: str
    args: dict[str, Any]
    out: tuple[Shape, ...]
    call: int  # index into Trace.calls
    module: Module | None
    params: dict[str, str]
    buffers: frozenset[str]
    data: dict[str, int]  # arguments that broadcast a smaller tensor (expand): the elements stored
    inputs: dict[str, int]  # arguments that are activations -> tensor serial
    outputs: tuple[int, ...]
    inner: bool = False
    known: bool = True
    scope: int = 0  # serial of the module call it ran in


@dataclass
class Trace:
    """Every op of one forward pass, the calls they ran under, the module calls and the model's parameters."""

    ops: list[Raw] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    module_calls: list[tuple[int, ModuleCall]] = field(default_factory=list)  # (index of its first op, call)
    modules: dict[str, str] = field(default_factory=dict)  # path -> exact class of every module
    params: dict[str, tuple[Shape, bool]] = field(default_factory=dict)  # key -> (shape, trainable)
    input: Shape = Shape()


class _Recorder(TorchFunctionMode):
    """The calls users write; module hooks keep the module stack and record module calls."""

    def __init__(self, model: nn.Module, trace: Trace) -> None:
        super().__init__()
        self.trace = trace
        self.paths: dict[nn.Module, str] = {}  # a shared module, parameter or buffer: its first path
        self.param_keys: dict[int, str] = {}
        self.buffer_ids: set[int] = set()
        for path, module in model.named_modules():
            self.paths[module] = path
            trace.modules[path] = _type(module)
            for name, p in module._parameters.items():
                if p is not None and id(p) not in self.param_keys:
                    self.param_keys[id(p)] = key = f"{path}.{name}" if path else name
                    trace.params[key] = (Shape(p.shape), p.requires_grad)
            self.buffer_ids.update(id(b) for b in module._buffers.values() if b is not None)
        self.records: dict[nn.Module, Module] = {}
        self.stack: list[nn.Module] = []
        self.starts: list[int] = []  # index of the next op when each running module was entered
        self.scopes: list[int] = [0]  # serial of each running module call
        self.scope_count = 0
        self.seen: set[int] = set()
        self.current: Any = None  # (func, args, kwargs) of the running top-level call, else None
        self.call = -1  # index of the recorded Call of the running call, -1 before its first op
        self.composite: str | None = None
        self.suspended: list[Any] = []
        self.explicit = self.explicit_call = False  # set while a Tensor method is called by name (x.add(y)), not by an operator
        self.pending = False  # the running call is a composite whose own record is still to be made
        self.composite_at = -1  # index of the running composite's record, to give it the call's outputs
        self.failed: nn.Module | None = None  # the innermost module a failure went through
        # global hooks: one registration for every module (the model's own; any other is part of its caller)
        self.handles = [register_module_forward_pre_hook(self.enter),
                        register_module_forward_hook(self.leave, with_kwargs=True, always_call=True)]

    def record(self, module: nn.Module) -> Module:
        """The record of one of the model's modules, made on its first call."""
        found = self.records.get(module)
        if found is None:
            path, types = self.paths[module], self.trace.modules
            parts = path.split(".") if path else []
            own = vars(module)  # plain attributes of the classes counters have rules for
            attrs = {name: _value(own[name]) for name in ATTRS.intersection(own)
                     if isinstance(own[name], (int, float, bool, str, tuple))} if _ruled(types[path]) else {}
            params = tuple((name, self.param_keys[id(p)], p.numel(), p.requires_grad)
                           for name, p in module._parameters.items() if p is not None and id(p) in self.param_keys)
            found = Module(path, types[path], not any(c is not None for c in module._modules.values()), attrs, params,
                           tuple(types[".".join(parts[:i])] for i in range(len(parts))))  # outermost first
            self.records[module] = found
        return found

    def enter(self, module: nn.Module, args: tuple) -> None:
        if module not in self.paths:
            return
        self.stack.append(module)
        self.starts.append(len(self.trace.ops))
        self.scope_count += 1
        self.scopes.append(self.scope_count)
        if isinstance(module, FAST_PATHS) and torch._C._len_torch_function_stack():
            self.suspended.append((module, torch._C._pop_torch_function_stack()))
            self.current, self.call = (type(module), args, {}), -1

    def leave(self, module: nn.Module, args: tuple, *rest: Any) -> None:
        """After a forward (kwargs and output), or after a failure in it (output only: torch calls global
        always-call hooks so), where it keeps the stack straight and notes the innermost module failing."""
        if module not in self.paths:
            return
        if self.suspended and self.suspended[-1][0] is module:
            torch._C._push_on_torch_function_stack(self.suspended.pop()[1])
            self.current = None
        self.stack.pop()
        self.scopes.pop()
        if len(rest) != 2:  # (output) alone: the forward failed
            self.failed = self.failed or module
            self.starts.pop()
            return
        kwargs, output = rest
        out = _first_tensor(output)
        inputs = tuple(Shape(a.shape) if isinstance(a, torch.Tensor) else None
                       for a in (args or tuple(kwargs.values())[:1]))
        self.trace.module_calls.append((self.starts.pop(), ModuleCall(
            self.record(module), inputs, Shape(out.shape) if out is not None else None, id(module) not in self.seen)))
        self.seen.add(id(module))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if self.current is not None:
            return func(*args, **kwargs)
        self.current, self.call, self.explicit_call = (func, args, kwargs), -1, self.explicit
        try:
            result = func(*args, **kwargs)
            if self.composite_at >= 0:
                self.trace.ops[self.composite_at].out = tuple(
                    Shape(t.shape) for t in tree_flatten(result)[0] if isinstance(t, torch.Tensor))
            return result
        finally:
            self.current, self.composite, self.composite_at = None, None, -1

    def call_index(self) -> int:
        """The index of the running call's Call record, made on its first recorded op."""
        if self.call < 0:
            func, args, kwargs = self.current or (None, (), {})
            name = (f"nn.{func.__name__}" if isinstance(func, type) else function_name(func)) if func else "aten"
            method = name.removeprefix("Tensor.")
            if method in OPERATORS and method != name and not self.explicit_call:
                name = f"Tensor.{OPERATORS[method]}"
            self.trace.calls.append(Call(name, _value(tuple(args)), {k: _value(v) for k, v in kwargs.items()}))
            self.call = len(self.trace.calls) - 1
            self.composite = COMPOSITES.get(name)
            self.pending = self.composite is not None
        return self.call


def _ruled(kind: str) -> bool:
    return kind.startswith("torch.nn.modules.") or kind == "timm.layers.attention.Attention"


def _type(module: nn.Module) -> str:
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


class _Dispatch(TorchDispatchMode):
    """Every aten op: its arguments by schema name, the parameters and buffers among them, its outputs."""

    def __init__(self, recorder: _Recorder) -> None:
        super().__init__()
        self.recorder = recorder
        self.trace = recorder.trace
        self.tensors: WeakIdKeyDictionary = WeakIdKeyDictionary()  # tensor -> (serial, stored elements, param)
        self.serial = 0
        self.schemas: dict[Any, tuple[str, tuple[str, ...], tuple[Any, ...]]] = {}

    def _schema(self, func: Any) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
        known = self.schemas.get(func)
        if known is None:
            arguments = func._schema.arguments
            known = (func._overloadpacket.__name__, tuple(a.name for a in arguments),
                     tuple(a.default_value if a.has_default_value() else None for a in arguments))
            self.schemas[func] = known
        return known

    def _source(self, tensor: torch.Tensor) -> tuple[int, int, str | None, bool]:
        """(serial, stored elements, parameter key, is a buffer) of a tensor, made up on first sight."""
        key = self.recorder.param_keys.get(id(tensor))
        if key is not None:
            return -1, tensor.numel(), key, False
        if id(tensor) in self.recorder.buffer_ids:
            return -1, tensor.numel(), None, True
        known = self.tensors.get(tensor)
        if known is None:
            self.serial += 1
            known = (self.serial, tensor.numel(), None, False)
            self.tensors[tensor] = known
        return known

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name, names, defaults = self._schema(func)
        tensors_out = [t for t in (out if isinstance(out, (tuple, list)) else (out,)) if isinstance(t, torch.Tensor)]
        if name in FREE:  # a view or copy stands for its source: same serial, parameter or buffer
            first = next((a for a in args if isinstance(a, torch.Tensor)), None)
            if first is not None:
                serial, stored, key, buffer = self._source(first)
                for t in tensors_out:
                    if key is not None or buffer:
                        self.tensors[t] = (-1, stored, key, buffer)
                    elif t is not first:
                        self.tensors[t] = (serial, min(stored, t.numel()), None, False)
            return out
        self._record(name, names, defaults, args, kwargs, tensors_out)
        return out

    def _sources(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict, set, dict, dict]:
        """The arguments as plain data, and which tensors among them are parameters, buffers or activations
        (activations by serial; one that broadcasts a smaller tensor with the elements it stores)."""
        plain, params, buffers, data, inputs = {}, {}, set(), {}, {}
        for arg, value in values.items():
            if type(value) in PLAIN:
                plain[arg] = value
                continue
            many = isinstance(value, (list, tuple))
            for index, tensor in enumerate(value if many else (value,)):
                if isinstance(tensor, torch.Tensor):
                    where = f"{arg}.{index}" if many else arg
                    serial, stored, key, buffer = self._source(tensor)
                    if key is not None:
                        params[where] = key
                    elif buffer:
                        buffers.add(where)
                    else:
                        inputs[where] = serial
                        if stored < tensor.numel():
                            data[where] = stored
            plain[arg] = _value(value)
        return plain, params, buffers, data, inputs

    def _record(self, name: str, names: tuple[str, ...], defaults: tuple[Any, ...], args: tuple, kwargs: dict,
                outs: list[torch.Tensor]) -> None:
        rec = self.recorder
        values = dict(zip(names, defaults))
        values.update(zip(names, args))
        values.update(kwargs)
        plain, params, buffers, data, inputs = self._sources(values)
        serials = []
        for tensor in outs:
            self.serial += 1
            self.tensors[tensor] = (self.serial, tensor.numel(), None, False)
            serials.append(self.serial)
        module = rec.record(rec.stack[-1]) if rec.stack else None
        call = rec.call_index()
        if rec.pending:
            rec.pending = False
            self._composite(call, module)
        self.trace.ops.append(Raw(
            name, plain, tuple(Shape(t.shape) for t in outs), call, module,
            params, frozenset(buffers), data, inputs, tuple(serials), inner=rec.composite is not None,
            known=name in REGISTRY, scope=rec.scopes[-1]))

    def _composite(self, call: int, module: Module | None) -> None:
        """The composite op a call stands for (einsum, an RNN), from the call's own arguments."""
        rec = self.recorder
        func, args, kwargs = rec.current
        if rec.composite == "einsum":
            values = {"equation": args[0], "tensors": tuple(args[1]) if isinstance(args[1], (list, tuple))
                      else tuple(args[1:])}
        elif func is F.instance_norm:  # the Python signature, not aten's
            values = dict(zip(("input", "running_mean", "running_var", "weight", "bias", "use_input_stats",
                               "momentum", "eps"), args)) | kwargs
        else:  # an RNN on a PackedSequence takes aten's `data` overload
            packet = getattr(torch.ops.aten, rec.composite)
            packed = rec.composite in GATES_OPS and len(args) > 3 and isinstance(args[3], (list, tuple))
            names = self._schema(packet.data if packed else getattr(packet, "input", None) or packet.default)[1]
            values = {("input" if k == "data" else k): v for k, v in (dict(zip(names, args)) | kwargs).items()}
        plain, params, buffers, _, inputs = self._sources(values)
        rec.composite_at = len(self.trace.ops)
        self.trace.ops.append(Raw(rec.composite, plain, (), call, module, params, frozenset(buffers), {}, inputs, (),
                                  scope=rec.scopes[-1]))


GATES_OPS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


def _named(recorder: _Recorder, method: Any) -> Any:
    """A Tensor method that, called by name, tells the recorder so (the operator form does not pass here)."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outer, recorder.explicit = recorder.explicit, True
        try:
            return method(*args, **kwargs)
        finally:
            recorder.explicit = outer
    wrapper.tensor_method = method.__name__  # what __torch_function__ receives for both `x + y` and x.add(y)
    return wrapper


@contextlib.contextmanager
def _named_methods(recorder: _Recorder) -> Any:
    """Tensor.add, .mul, .matmul, ... wrapped while tracing: `x + y` and `x.add(y)` then differ."""
    originals = {name: getattr(torch.Tensor, name) for name in OPERATORS}
    try:
        for name, method in originals.items():
            setattr(torch.Tensor, name, _named(recorder, method))
        yield
    finally:
        for name, method in originals.items():
            setattr(torch.Tensor, name, method)


def trace(model: nn.Module, x: torch.Tensor) -> Trace:
    """One forward pass of model on x (eval, no_grad), recorded; a failure is one line naming the module."""
    with user_code("the model's eval() raised "):
        model.eval()
    record = Trace(input=Shape(x.shape))
    recorder = _Recorder(model, record)
    dispatch = _Dispatch(recorder)
    try:
        with contained(model), torch.no_grad(), _named_methods(recorder), recorder, dispatch:
            model(x)
    except MncostError:
        raise
    except USER_ERRORS as error:
        where = recorder.failed or (recorder.stack[-1] if recorder.stack else None)
        raise MncostError(f"forward pass on input {tuple(x.shape)} failed in "
                          f"{recorder.paths[where] or 'the model' if where is not None else 'the model'}"
                          f"{f' ({type(where).__name__})' if where is not None else ''}: {one_line(error)}") from None
    finally:
        recorder.remove()
        while recorder.suspended:  # a failure inside a fast-path module: its mode back on the stack
            torch._C._push_on_torch_function_stack(recorder.suspended.pop()[1])
    return record

