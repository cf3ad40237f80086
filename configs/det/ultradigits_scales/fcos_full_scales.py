# Stock FCOS on the whole canvas at full resolution: the unbounded reference
# (its memory grows with the canvas; it fits here because a CPU has GiBs).
_base_ = ['./_base_/stock.py']
