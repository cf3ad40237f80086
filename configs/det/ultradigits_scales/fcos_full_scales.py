# Stock FCOS on the whole canvas at full resolution: the unbounded reference
# (its memory grows with the canvas: 200.6 MiB at 1024 px, 2.8x ours'
# 71.6 MiB; it fits here because a CPU has GiBs):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_full_scales.py \
#       --sizes 1024 --baseline none --batch-size 1 --threads 1 --steps 2
_base_ = ['./_base_/stock.py']
