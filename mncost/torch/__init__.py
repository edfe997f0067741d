"""The only part of mncost that imports torch and fvcore.

`build_module(net)` turns any Network into an nn.Module whose module names equal
the layer names; `count.count_module` measures it with fvcore. Importing this
package does not import torch; its submodules do.
"""
