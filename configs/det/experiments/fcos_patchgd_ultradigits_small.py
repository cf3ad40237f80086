# Equal-memory experiment (issue #5), PatchGD side: the demo's narrow FCOS
# on UltraDigits-small at full resolution, with the settings that keep its
# step small: 128 px patches, k = 4 of 64 cells, latent 8, the uint8
# batch. Batch 2, measured peak 88.4 MiB:
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/experiments/fcos_patchgd_ultradigits_small.py \
#       --sizes 1024 --batch-size 2
# Stock FCOS at equal memory: fcos_stock_ultradigits_small_{384,448}.py.
# UltraDigits-small: 6-10 digits per 1024 px canvas in squares of 16-30 px
# (tight boxes 7-20 px, all "small" in COCO terms), made by
#   python tools/make_ultradigits.py --out data/ultradigits_small \
#       --size 1024 --digits 6 10 --min-digit-size 16 \
#       --max-digit-frac 0.03 --num-train 128 --num-val 16 --num-test 32
# Run (each side for the same wall-clock time):
#   python tools/analysis_tools/experiment.py CONFIG --work-dir DIR \
#       --json OUT --time-limit 540 --cfg-options-json \
#       '{"train_cfg.max_iters": 100000, "train_cfg.val_interval": 100000}'
_base_ = ['../fcos_patchgd_ultradigits.py']
model = dict(
    data_preprocessor=dict(type='PatchDetDataPreprocessor'),
    patch_cfg=dict(patch_size=128, inner_iters=4, patches_per_iter=4,
                   accumulate=1, fill_chunk=16),
    latent_channels=8)
data_root = 'data/ultradigits_small/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = dict(ann_file=data_root + 'annotations/instances_test.json')
