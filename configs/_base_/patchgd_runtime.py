# What every PatchGD config adds to its host library's default runtime
# (mmdet::, mmseg:: or mmpretrain::_base_/default_runtime.py, which it
# inherits next to this file):
#   _base_ = [..., 'mmdet::_base_/default_runtime.py',
#             '../_base_/patchgd_runtime.py']
# The hooks live in mmpatch/engine/hooks/ and the wrapper in
# mmpatch/engine/distributed.py; both are registered when the config's
# custom_imports import an mmpatch model module.
#
# custom_hooks:
#   MemoryLoggerHook    measures the peak memory of every training
#                       iteration and logs memory/peak_mb (for PatchGD
#                       models also memory/latent_mb, time/fill_s and
#                       patches_per_iter).
#   MemoryBudgetHook    with a budget (model.patch_cfg.memory_budget, e.g.
#                       '1G'), plans k (patches_per_iter='auto') and
#                       fill_chunk on the largest images of the training set
#                       before training, re-plans for a larger batch, and
#                       stops a run whose logged peak passes the budget.
#                       Without a budget it does nothing.
#   LazyImageCheckHook  before the run, refuses a pipeline that reads
#                       pixels after LoadLazyImage (a resize, a photometric
#                       transform); pipelines without it pass untouched.
# To add a hook, restate the list with the base's entries first: mmengine
# replaces a list, it does not merge it, e.g.
#   custom_hooks = [*_base_.custom_hooks,
#                   dict(type='PatchPreciseBNHook', num_batches=32,
#                        interval=300)]
# (configs/seg/unet_patchgd_ultradigits.py does this; LatentCacheHook and
# TrainTimeLimitHook are added the same way).
#
# model_wrapper_cfg: PatchGDDistributedDataParallel, the DDP wrapper whose
# train_step is the model's PatchGD step, gradients averaged once per
# optimizer step (docs/distributed.md). It wraps mmpatch models only: a
# stock baseline that inherits a PatchGD config sets
# model_wrapper_cfg = dict(type='MMDistributedDataParallel').
custom_hooks = [
    dict(type='MemoryLoggerHook'),
    dict(type='MemoryBudgetHook'),
    dict(type='LazyImageCheckHook'),
]
model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')
