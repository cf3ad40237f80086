# Stock mmdet FCOS of the UltraDigits-scales comparison (./fcos.py), with the
# stock configs' hooks plus the clock of the time-to-accuracy curve.
_base_ = ['./fcos.py']
custom_hooks = [dict(type='MemoryLoggerHook'), dict(type='TrainClockHook')]
