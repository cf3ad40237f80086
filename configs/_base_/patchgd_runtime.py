# What every PatchGD config wants at run time: memory logging, the memory budget planner, the lazy-image check and the DDP wrapper that runs the PatchGD step.
custom_hooks = [dict(type='MemoryLoggerHook'), dict(type='MemoryBudgetHook'), dict(type='LazyImageCheckHook')]
model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')
