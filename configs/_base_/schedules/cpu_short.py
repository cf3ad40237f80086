# A short iteration-based schedule for CPU demos: Adam, a linear warm-up,
# validation at the end. Loop and optimizer keys only, so it composes with
# mmdet's / mmseg's / mmpretrain's default_runtime; experiment configs set
# the checkpoint interval (default_hooks) for their length.
max_iters = 300
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.0),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
]
