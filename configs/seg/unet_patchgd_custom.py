# U-Net PatchGD on your own segmentation data (images and PNG masks). Copy
# this file next to it, set the two values under "your data" and train the
# copy:
#   cp configs/seg/unet_patchgd_custom.py configs/seg/unet_patchgd_mydata.py
#   python tools/train.py configs/seg/unet_patchgd_mydata.py
# The layout it reads (mmseg's BaseSegDataset), which
# tools/make_ultradigits.py writes (its masks: classes background, stroke):
#   {data_root}images/train/*.png, images/val/*.png   the images
#   {data_root}masks/train/*.png, masks/val/*.png     one mask an image, of
#       the same name: a pixel holds its class index (0, 1, ...), 255 = ignore
# For another layout, change data_prefix below; for .jpg images, add
# img_suffix='.jpg' next to it. The val split also serves tools/test.py.
#
# The network, image size and schedule are ./unet_patchgd_ultradigits.py's:
# a narrow U-Net that trains on a CPU, images resized to 512 px, 128 px
# patches (a 4x4 grid), 300 iterations; ./deeplabv3_patchgd_aerial.py is
# DeepLabV3 at 1024 px.
_base_ = './unet_patchgd_ultradigits.py'

# your data
data_root = 'data/my_seg/'
classes = ('background', 'class_1')  # class i is the mask value i

# an empty palette: mmseg draws one colour a class (seeded)
metainfo = dict(classes=classes, palette=[])
model = dict(decode_head=dict(num_classes=len(classes)))


def _split(name):
    return dict(dataset=dict(
        data_root=data_root, metainfo=metainfo,
        data_prefix=dict(img_path=f'images/{name}',
                         seg_map_path=f'masks/{name}')))


train_dataloader = _split('train')
val_dataloader = _split('val')
test_dataloader = val_dataloader
