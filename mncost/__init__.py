"""mncost: exact mult-adds, parameters and activations of MobileNets, layer by layer.

The public API. Each name is imported on first use, so that `mncost table` loads only what it needs.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"  # the one place it is written: pyproject.toml reads it

_WHERE = {
    "analyze": "cost.analysis", "Analysis": "cost.analysis", "sweep": "study.sweep", "sweep_rows": "study.sweep",
    "fit": "study.fit", "totals": "cost.totals", "load_spec": "arch.specfile", "Spec": "arch.spec",
    "network": "arch.builder", "LayerCost": "cost.ops", "layer_cost": "cost.ops", "network_costs": "cost.ops",
    "total_cost": "cost.ops", "MncostError": "errors", "Layer": "arch.layers", "Network": "arch.layers",
    "count": "torch.model", "latency": "output.latency", "train": "torch.training",
}
__all__ = list(_WHERE)


CHECKED = {"layer_cost", "network_costs", "total_cost"}  # their argument is checked first (arch.bounds)


def _checked(function: Any) -> Any:
    """The cost function with its Layer or Network checked first: a bad one is a MncostError, never a count."""
    from functools import wraps

    from .arch.bounds import check_network

    @wraps(function)
    def run(net: Any) -> Any:
        check_network(net)
        return function(net)

    return run


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'mncost' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = _checked(value) if name in CHECKED else value
    return globals()[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
