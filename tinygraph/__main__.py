"""``python -m tinygraph``: the ``tinygraph`` command line (see ``tinygraph.cli``)."""

from .cli import main

raise SystemExit(main())
