"""mncost: exact mult-adds, parameters and activations of MobileNets, layer by layer."""

from .arch.builder import network
from .arch.layers import Layer, Network
from .arch.spec import Spec
from .arch.specfile import load_spec
from .cost.analysis import Analysis, analyze
from .cost.ops import LayerCost, layer_cost, network_costs, total_cost
from .cost.totals import totals
from .errors import MncostError
from .study.fit import fit
from .study.sweep import sweep, sweep_rows

__all__ = ["analyze", "Analysis", "sweep", "sweep_rows", "fit", "totals", "load_spec", "Spec", "network",
           "LayerCost", "layer_cost", "network_costs", "total_cost", "MncostError", "Layer", "Network"]
