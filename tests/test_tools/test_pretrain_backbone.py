"""tools/pretrain_digits.py's BACKBONE is the narrow FCOS's backbone, so
its checkpoint starts every detector of configs/det/ultradigits_scales."""
import os.path as osp
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_pretrain_backbone_is_fcos_mini_backbone():
    import mmdet.models  # noqa: F401
    import mmpretrain.models  # noqa: F401
    from mmdet.registry import MODELS as DET
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS as CLS
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        from pretrain_digits import BACKBONE
    finally:
        sys.path.pop(0)
    torch.manual_seed(0)
    # Each build in its own scope: a scope left current by an earlier test
    # would resolve 'ResNet' in that library's registry.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        cls = CLS.build(BACKBONE)
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/models/fcos_mini.py'))
    with DefaultScope.overwrite_default_scope('mmdet'):
        det = DET.build(cfg.model.backbone)
    det.load_state_dict(cls.state_dict(), strict=True)  # same keys, shapes
    cls.eval()
    det.eval()  # (mmdet's ResNet.train returns None: no chaining)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(det(x)[-1], cls(x)[-1])
    scales = Config.fromfile(osp.join(
        ROOT, 'configs/det/ultradigits_scales/fcos_crop_scales.py'))
    # the crop baseline's FCOS sits inside its SlicedDetector
    assert scales.model.detector.backbone.init_cfg == dict(
        type='Pretrained', checkpoint='checkpoints/resnet18n_digits.pth',
        prefix='backbone')
