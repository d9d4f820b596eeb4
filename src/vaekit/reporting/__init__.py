"""Reporting: PNG grids, plots, report.md, report.html and TensorBoard events; the only code
that writes pictures."""

from vaekit.reporting.gallery import Gallery, write_pictures
from vaekit.reporting.images import image_grid, save_image_grid
from vaekit.reporting.plots import plot_training_curves
from vaekit.reporting.report import write_run_report

__all__ = [
    "Gallery",
    "image_grid",
    "plot_training_curves",
    "save_image_grid",
    "write_pictures",
    "write_run_report",
]
