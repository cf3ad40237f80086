# Stock mmdet FCOS of the UltraDigits-scales comparison (./fcos.py), with the
# stock configs' hooks plus the clock of the time-to-accuracy curve. The
# peak memory is measured on one iteration in 10 (and the first two): on a
# CPU the meter slows the steps it measures, and training times compare.
_base_ = ['./fcos.py']
custom_hooks = [
    dict(type='MemoryLoggerHook', interval=10),
    dict(type='TrainClockHook')
]
