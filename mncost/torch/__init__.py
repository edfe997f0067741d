"""The only part of mncost that imports torch and fvcore.

`build_module(net)` turns any Network into an nn.Module whose module names equal
the layer names; `count.count_module` measures it with fvcore. Importing this
package does not import torch; its submodules do.
"""

from __future__ import annotations

import importlib

from ..errors import MncostError

INSTALL = 'pip install "mncost[torch]"'


def require(command: str, modules: tuple[str, ...] = ("torch",)) -> None:
    """Raise one MncostError naming the extra to install when a module the command needs cannot be imported."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise MncostError(f"{command} needs the torch extra, and {name} cannot be imported; "
                              f"install it with: {INSTALL}") from None
