"""What ran, as plain data: the aten ops of a forward pass with their shapes, the torch call and module
each ran in, and the module calls. A traced model's rows hold these records (mncost.torch.trace);
a built-in arch's rows derive the same records from their layout (mncost.cost.layout), so both are
costed by one op registry (mncost.cost.aten) and counted by one set of conventions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any, Iterator, Mapping


class Shape(tuple):
    """A tensor's shape where an op takes a tensor, told apart from a list of ints (a stride)."""

    __slots__ = ()

    @property
    def numel(self) -> int:
        return prod(self)


def shapes(value: Any) -> Iterator[Shape]:
    """The tensor shapes in an argument: a Shape, or a list of them (cat's tensors)."""
    if isinstance(value, Shape):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from shapes(item)


@dataclass(frozen=True)
class Module:
    """One nn.Module of the model: its path, exact class, own parameters and the attributes counters read."""

    path: str
    type: str  # module and qualified class name: torch.nn.modules.conv.Conv2d
    leaf: bool  # no child modules
    attrs: Mapping[str, Any] = field(default_factory=dict)  # kernel_size, affine, num_heads, ... (plain values)
    params: tuple[tuple[str, str, int, bool], ...] = ()  # own (name, key, numel, trainable); key: the model's name
    ancestors: tuple[str, ...] = ()  # exact classes of the modules it sits in, outermost first

    @property
    def name(self) -> str:
        """The class as users write it: nn.Conv2d for torch.nn's, else the class name."""
        module, _, cls = self.type.rpartition(".")
        return f"nn.{cls}" if module.startswith("torch.nn.modules") else cls


@dataclass(frozen=True)
class Call:
    """The torch function an op ran under, as users call it, and its arguments (a tensor as its Shape)."""

    function: str  # F.relu, torch.add, Tensor.__add__, F.linear; nn.MultiheadAttention for a native kernel
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        """A positional or keyword argument."""
        return self.args[index] if len(self.args) > index else self.kwargs.get(name, default)


@dataclass(frozen=True)
class Op:
    """One aten op as it ran: arguments by schema name (tensors as Shapes), output shapes, and its context."""

    name: str  # the aten op: convolution, addmm, add_, native_batch_norm, ...
    args: Mapping[str, Any]
    out: tuple[Shape, ...]
    call: Call
    module: Module | None = None  # the innermost module running
    own: bool = False  # the torch.nn module's own op: nn.ReLU running F.relu, nn.Conv2d running F.conv2d
    params: Mapping[str, str] = field(default_factory=dict)  # argument -> parameter key
    buffers: frozenset[str] = frozenset()  # arguments that are buffers or other constants
    internal: frozenset[str] = frozenset()  # arguments an earlier op of the same row produced
    inner: bool = False  # ran inside a composite op recorded on its own (einsum, an RNN): costed by that one
    data: Mapping[str, int] = field(default_factory=dict)  # an argument broadcast from a smaller tensor: its size
    cost: Any = field(default=None, compare=False)  # its registry cost (mncost.cost.aten.OpCost), once made
    # a traced op's tensors by identity (views share their source's): activation argument -> serial, outputs' serials
    tensors: Mapping[str, int] = field(default_factory=dict, compare=False)
    made: tuple[int, ...] = field(default=(), compare=False)

    def tensor(self, name: str) -> Shape | None:
        value = self.args.get(name)
        return value if isinstance(value, Shape) else None


@dataclass(frozen=True)
class ModuleCall:
    """One call of a module's forward: its first input's and first output's shapes."""

    module: Module
    inputs: tuple[Shape | None, ...]  # the positional arguments' shapes (None: not a tensor)
    output: Shape | None  # the first tensor of the output (nested lists and tuples; a dict's last value)
    first: bool  # the module's first call in the forward pass

    @property
    def input(self) -> Shape | None:
        return self.inputs[0] if self.inputs else None
