# ResNet PatchGD on your own classification data (a folder per class).
# Copy this file next to it, set the two values under "your data" and train
# the copy:
#   cp configs/cls/resnet_patchgd_custom.py \
#       configs/cls/resnet_patchgd_mydata.py
#   python tools/train.py configs/cls/resnet_patchgd_mydata.py
# The layout it reads (mmpretrain's CustomDataset without an annotation
# file):
#   {data_root}train/{class}/*.png (or .jpg ...), {data_root}val/{class}/...
# With list files ("name.png label" lines) instead, set each split's
# ann_file as ../_base_/datasets/ultradigits_cls.py does. The val split also
# serves tools/test.py.
#
# The network, image size and schedule are ./resnet_patchgd_ultradigits.py's:
# a narrow ResNet-18 that trains on a CPU, images resized to 1024 px, 128 px
# patches (an 8x8 grid), 300 iterations, here from scratch (that config
# starts from digit weights); to start from weights you have, set
# model.backbone.init_cfg = dict(type='Pretrained', checkpoint=...,
# prefix='backbone'). ./resnet50_patchgd_panda.py is ResNet-50 at 2048 px.
_base_ = './resnet_patchgd_ultradigits.py'

# your data
data_root = 'data/my_cls/'
classes = ('class_1', 'class_2')  # the class folders, sorted by name

metainfo = dict(classes=classes)
data_preprocessor = dict(num_classes=len(classes))
model = dict(
    backbone=dict(init_cfg=None), head=dict(num_classes=len(classes)))


def _split(name):
    # no ann_file: the samples are the class folders' images
    return dict(dataset=dict(
        data_root=data_root, metainfo=metainfo, ann_file='',
        data_prefix=name))


train_dataloader = _split('train')
val_dataloader = _split('val')
test_dataloader = val_dataloader
