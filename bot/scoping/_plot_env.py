"""Preloaded by the scope forkserver of long-running fronts (Discord, console): matplotlib's Agg
backend and its font list, so every job draws its chart without paying the import (~1 s).

A one-shot `mlbot scope` leaves it out: the job then imports matplotlib at the chart stage, after
the first scores are out, instead of before them. Nothing else imports this module.
"""

import matplotlib.font_manager  # noqa: F401  (loads the font list once, in the server)
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
from matplotlib.figure import Figure  # noqa: F401
