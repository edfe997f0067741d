"""mncost: exact mult-adds, parameters and activations of MobileNets, layer by layer."""

from .archs import network
from .costs import LayerCost, layer_cost, network_costs, total_cost
from .errors import MncostError
from .layers import Layer, Network

__all__ = ["network", "LayerCost", "layer_cost", "network_costs", "total_cost", "MncostError",
           "Layer", "Network"]
