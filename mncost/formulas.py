"""The papers' cost formulas, kept at their public path: `from mncost import formulas`. They live in
mncost.cost.formulas."""

from .cost.formulas import *  # noqa: F401,F403
from .cost.formulas import __all__  # noqa: F401
