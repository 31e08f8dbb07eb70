"""tinygraph on dask: ``tg.dask.map_batches(graph, batches)`` scores dask arrays chunk by chunk.

Needs the ``dask`` extra (``pip install "tinygraph[dask]"``); importing this module does not
import dask, so ``tg.dask`` exists either way and says what to install when used without it.
The graph travels to worker processes in tinygraph's own file format (``tg.dumps``), custom
ops by their import path. See docs/scale.md.
"""

from .batches import DaskUnavailableError, map_batches, require_dask

__all__ = ["map_batches", "DaskUnavailableError", "require_dask"]
