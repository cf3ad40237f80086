# The narrow FCOS of ./fcos_mini_digits.py with mmpatch's IgnoreFCOSHead
# (mmpatch/models/fcos_heads.py): no classification loss on the background
# points inside ignored boxes, which the crop baseline's SODA-D rule
# (RandomCropIgnorePartial) flags. Otherwise FCOSHead. Model only (a
# config using it imports mmpatch.models.fcos_heads).
_base_ = './fcos_mini_digits.py'
model = dict(bbox_head=dict(type='IgnoreFCOSHead'))
