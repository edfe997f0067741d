"""The papers' cost formulas at their public path (`from mncost import formulas`), every argument checked:
a MncostError names the first that is not a positive integer (D_F: or a pair (h, w); bias: a bool). They
compute with mncost.cost.formulas, which the op registry calls on a Network's shapes."""

from .cost import formulas as _formulas
from .cost.formulas import __all__, checked

for _name in __all__:
    globals()[_name] = checked(getattr(_formulas, _name))
