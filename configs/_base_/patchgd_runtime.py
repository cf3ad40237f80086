# The run-time pieces every PatchGD config wants (hooks, DDP wrapper).
custom_hooks = [dict(type='MemoryLoggerHook'), dict(type='MemoryBudgetHook'), dict(type='LazyImageCheckHook')]
model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')
