# The PatchGD paper's classification schedule (PANDA, UltraMNIST): Adam at
# 1e-3, 100 epochs, 2 linear warm-up epochs then cosine, gradients clipped
# at 10. Loop and optimizer keys only, so it composes with mmpretrain's
# default_runtime; configs set default_hooks (the checkpoint's save_best)
# themselves, since the host runtime defines that key.
max_epochs = 100
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.0),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, end=max_epochs,
         T_max=max_epochs - 2, eta_min=1e-6, convert_to_iter_based=True),
]
