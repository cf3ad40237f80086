"""Datasets shipped with mmpatch.

Importing this package stays light: it needs numpy, OpenCV and (lazily, on
first use) scikit-learn, never torch or the OpenMMLab libraries.
"""
from .digit_canvas import load_digit_bank, render_digit
from .generator_io import read_stamp
from .ultradigits import (FORMAT_VERSION, ULTRADIGITS_CLASSES,
                          ULTRADIGITS_SEG_CLASSES, ULTRADIGITS_SEG_PALETTE,
                          generate_ultradigits, ultradigits_up_to_date)
from .ultradigits_scales import (generate_ultradigits_scales,
                                 ultradigits_scales_up_to_date)

__all__ = [
    'FORMAT_VERSION', 'ULTRADIGITS_CLASSES', 'ULTRADIGITS_SEG_CLASSES',
    'ULTRADIGITS_SEG_PALETTE', 'generate_ultradigits', 'load_digit_bank',
    'read_stamp', 'render_digit', 'ultradigits_up_to_date',
    'generate_ultradigits_scales', 'ultradigits_scales_up_to_date'
]
