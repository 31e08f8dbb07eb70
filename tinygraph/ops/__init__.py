"""The built-in ops, one family per module, and their function forms (``tg.matmul``, ``tg.sigmoid``, ...).

Each op is one class declaring everything about it (see ``tinygraph.op.Op``); no other
module of tinygraph names it. This package only gathers the families: a new op added
to a family module's ``__all__`` is ``tg.ops.NewOp`` and ``tg.new_op`` at once. Helpers
that several families share live in the private modules (``_operands``, ``_reducers``,
``_windows``).
"""

from ..op import Constant, Input, Op, Parameter, as_node, constant, input, parameter
from . import (
    activations,
    clipping,
    contraction,
    convolution,
    elementwise,
    extremes,
    float_functions,
    gathering,
    joining,
    layout,
    linalg,
    logic,
    math,
    normalization,
    pooling,
    recurrent,
    reductions,
    scans,
    shape_values,
    shaping,
    slicing,
    squeezing,
)
from . import attention as attention_family  # the function ``attention`` takes the name below
from .activations import *  # noqa: F403
from .attention import *  # noqa: F403
from .clipping import *  # noqa: F403
from .contraction import *  # noqa: F403
from .convolution import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .extremes import *  # noqa: F403
from .float_functions import *  # noqa: F403
from .gathering import *  # noqa: F403
from .joining import *  # noqa: F403
from .layout import *  # noqa: F403
from .linalg import *  # noqa: F403
from .logic import *  # noqa: F403
from .math import *  # noqa: F403
from .normalization import *  # noqa: F403
from .pooling import *  # noqa: F403
from .recurrent import *  # noqa: F403
from .reductions import *  # noqa: F403
from .scans import *  # noqa: F403
from .shape_values import *  # noqa: F403
from .shaping import *  # noqa: F403
from .slicing import *  # noqa: F403
from .squeezing import *  # noqa: F403

#: The op families, in the order the docs list them.
FAMILIES = (elementwise, activations, float_functions, math, clipping, logic, linalg, reductions, extremes, scans,
            contraction, layout, joining, slicing, gathering, squeezing, shape_values, shaping, convolution, pooling,
            normalization, recurrent, attention_family)

__all__ = ["Op", "Input", "Parameter", "Constant", "as_node", "input", "parameter", "constant"]
__all__ += elementwise.__all__
__all__ += activations.__all__
__all__ += linalg.__all__
__all__ += reductions.__all__
__all__ += extremes.__all__
__all__ += scans.__all__
__all__ += contraction.__all__
__all__ += layout.__all__
__all__ += float_functions.__all__
__all__ += math.__all__
__all__ += clipping.__all__
__all__ += logic.__all__
__all__ += joining.__all__
__all__ += slicing.__all__
__all__ += gathering.__all__
__all__ += squeezing.__all__
__all__ += shape_values.__all__
__all__ += shaping.__all__
__all__ += convolution.__all__
__all__ += pooling.__all__
__all__ += normalization.__all__
__all__ += recurrent.__all__
__all__ += attention_family.__all__
