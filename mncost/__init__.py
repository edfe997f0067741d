"""mncost: exact mult-adds, parameters and activations of MobileNets, layer by layer."""

from .analysis import Analysis, analyze
from .archs import Spec, network
from .budget import fit
from .costs import LayerCost, layer_cost, network_costs, total_cost
from .design import sweep, sweep_rows
from .errors import MncostError
from .layers import Layer, Network
from .spec import load_spec
from .totals import totals

__all__ = ["analyze", "Analysis", "sweep", "sweep_rows", "fit", "totals", "load_spec", "Spec", "network",
           "LayerCost", "layer_cost", "network_costs", "total_cost", "MncostError", "Layer", "Network"]
