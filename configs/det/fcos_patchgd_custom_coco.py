# FCOS PatchGD on your own COCO-format detection data. Copy this file next
# to it, set the two values under "your data" and train the copy:
#   cp configs/det/fcos_patchgd_custom_coco.py \
#       configs/det/fcos_patchgd_mydata.py
#   python tools/train.py configs/det/fcos_patchgd_mydata.py
# (docs/get_started.md, "Your own data", makes a small set to try it on).
# The layout it reads, which tools/make_ultradigits.py writes:
#   {data_root}annotations/instances_train.json, instances_val.json
#   {data_root}images/train/, images/val/   the files the jsons name
# For another layout, change ann_file and data_prefix below. The val split
# also serves tools/test.py.
#
# The network, image size and schedule are ./fcos_patchgd_ultradigits.py's:
# a narrow FCOS that trains on a CPU, images resized to 1024 px, 256 px
# patches (a 4x4 grid), 300 iterations. For the paper's FCOS-R50 on images
# resized to 4096 px (a GPU), inherit './fcos_patchgd_sodad.py' instead;
# the rest of this file serves both.
_base_ = './fcos_patchgd_ultradigits.py'

# your data
data_root = 'data/my_coco/'
classes = ('class_1', 'class_2')  # the json's category names, in its order

metainfo = dict(classes=classes)
model = dict(bbox_head=dict(num_classes=len(classes)))


def _split(name):
    return dict(dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file=f'annotations/instances_{name}.json',
        data_prefix=dict(img=f'images/{name}/')))


train_dataloader = _split('train')
val_dataloader = _split('val')
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
