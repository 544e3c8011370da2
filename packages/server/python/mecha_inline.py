"""Mecha's inline backend for matplotlib, `module://_mecha_inline`: as a notebook's inline
backend does, plt.show() sends every open figure as an image/png display and closes it,
Figure.show() sends its figure, and the figures a program leaves open are sent when it ends
(see mecha_display.py). Figures are drawn with Agg, the backend matplotlib uses without a
display; in a process that cannot send displays (a forked child), showing does nothing, as
with Agg.
"""

from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

# Sends one figure as a display; set by the bootstrap in each run (None: nowhere to send it).
publish = None


def _publish(figure):
    if publish is not None:
        publish(figure)


class FigureManager(FigureManagerBase):
    shown = False

    def show(self):
        self.shown = True
        _publish(self.canvas.figure)


class FigureCanvas(FigureCanvasAgg):
    manager_class = FigureManager


def show(close=None, block=None):
    """pyplot.show(): each open figure as a display, then closed (as a script's windows are
    once show() returns)."""
    try:
        for manager in Gcf.get_all_fig_managers():
            _publish(manager.canvas.figure)
    finally:
        if close is not False:
            Gcf.destroy_all()


def flush_figures():
    """The figures left open when the program ends, unless Figure.show() sent them already."""
    try:
        for manager in Gcf.get_all_fig_managers():
            if not manager.shown:
                _publish(manager.canvas.figure)
    finally:
        Gcf.destroy_all()
