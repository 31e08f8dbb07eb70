"""The built-in ops, one family per module, and their function forms (``tg.matmul``, ``tg.sigmoid``, ...).

Each op is one class declaring everything about it (see ``tinygraph.op.Op``); no other
module of tinygraph names it. This package only gathers the families: a new op added
to a family module's ``__all__`` is ``tg.ops.NewOp`` and ``tg.new_op`` at once.
"""

from ..op import Constant, Input, Op, Parameter, as_node, constant, input, parameter
from . import (
    activations,
    elementwise,
    indexing,
    layout,
    linalg,
    logic,
    math,
    normalization,
    recurrent,
    reductions,
    shaping,
)
from . import attention as attention_family  # the function ``attention`` takes the name below
from . import conv as conv_family  # the function ``conv`` takes the name below
from .activations import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .indexing import *  # noqa: F403
from .layout import *  # noqa: F403
from .linalg import *  # noqa: F403
from .logic import *  # noqa: F403
from .math import *  # noqa: F403
from .normalization import *  # noqa: F403
from .recurrent import *  # noqa: F403
from .reductions import *  # noqa: F403
from .shaping import *  # noqa: F403

#: The op families, in the order the docs list them.
FAMILIES = (elementwise, activations, math, logic, linalg, reductions, layout, indexing, shaping, conv_family,
            normalization, recurrent, attention_family)

__all__ = ["Op", "Input", "Parameter", "Constant", "as_node", "input", "parameter", "constant"]
__all__ += elementwise.__all__
__all__ += activations.__all__
__all__ += linalg.__all__
__all__ += reductions.__all__
__all__ += layout.__all__
__all__ += math.__all__
__all__ += logic.__all__
__all__ += indexing.__all__
__all__ += shaping.__all__
__all__ += conv_family.__all__
__all__ += normalization.__all__
__all__ += recurrent.__all__
__all__ += attention_family.__all__
