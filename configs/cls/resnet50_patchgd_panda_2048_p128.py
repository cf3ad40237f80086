# configs/cls/resnet50_patchgd_panda.py under the name of its size and
# patch: 2048 px with 128 px patches, 16x16 grid, 4 inner iterations of 64
# patches, batch 4 (the main config's setting, inherited unchanged)
#   python tools/dataset_converters/panda.py ROOT data/panda_2048 --size 2048
_base_ = ['./resnet50_patchgd_panda.py']
