"""Deferred normalisation: a uint8 batch read patch by patch gives exactly
what the host library's float batch gives."""
import copy

import pytest
import torch

from mmpatch.patchgd import PatchGrid
from tests.conftest import host_scope

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def uint8_images(shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g)
            for h, w in shapes]


def det_batch(shapes):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    samples = []
    for h, w in shapes:
        s = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                        scale_factor=(1.0, 1.0)))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[1., 2., 30., 40.]]),
                                      labels=torch.tensor([0]))
        samples.append(s)
    return dict(inputs=uint8_images(shapes), data_samples=samples)


def seg_batch(shapes):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for i, (h, w) in enumerate(shapes):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        mask = torch.randint(0, 2, (1, h, w),
                             generator=torch.Generator().manual_seed(i))
        s.gt_sem_seg = PixelData(data=mask)
        samples.append(s)
    return dict(inputs=uint8_images(shapes), data_samples=samples)


def cls_batch(shapes):
    from mmpretrain.structures import DataSample
    samples = [DataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
               .set_gt_label(i % 3) for i, (h, w) in enumerate(shapes)]
    return dict(inputs=uint8_images(shapes), data_samples=samples)


BATCHES = dict(det=det_batch, seg=seg_batch, cls=cls_batch)
SCOPES = dict(det='mmdet', seg='mmseg', cls='mmpretrain')


def pair(scope, **kwargs):
    """(host preprocessor, deferred preprocessor) with the same arguments."""
    if scope == 'cls':
        from mmpretrain.registry import MODELS

        import mmpatch.models.classifier  # noqa: F401
        host, ours = 'ClsDataPreprocessor', 'PatchClsDataPreprocessor'
        args = dict(mean=MEAN, std=STD, to_rgb=True, pad_size_divisor=32,
                    num_classes=3)
    elif scope == 'det':
        from mmdet.registry import MODELS

        import mmpatch.models.detector  # noqa: F401
        host, ours = 'DetDataPreprocessor', 'PatchDetDataPreprocessor'
        args = dict(mean=MEAN, std=STD, bgr_to_rgb=True, pad_size_divisor=32)
    else:
        from mmseg.registry import MODELS

        import mmpatch.models.segmentor  # noqa: F401
        host, ours = 'SegDataPreProcessor', 'PatchSegDataPreProcessor'
        args = dict(mean=MEAN, std=STD, bgr_to_rgb=True, size_divisor=32)
    args.update(kwargs)
    with host_scope(SCOPES[scope]):
        return (MODELS.build(dict(type=host, **args)),
                MODELS.build(dict(type=ours, **args)))


def grid_over(out, patch, normalize=None):
    inputs, samples = out['inputs'], out['data_samples']
    valid = [tuple(s.metainfo['img_shape'][:2]) for s in samples]
    return PatchGrid(tuple(inputs.shape[-2:]), patch, valid, len(samples),
                     normalize)


@pytest.mark.parametrize('scope', ['det', 'seg', 'cls'])
@pytest.mark.parametrize('training', [True, False])
def test_patches_equal_host_batch(scope, training):
    """Every patch and the global patch of the uint8 batch equal those of
    the host's normalised float batch, padding included; the metadata the
    host writes is the same."""
    host, ours = pair(scope)
    # two sizes, neither a multiple of the patch, in one batch (mmseg's test
    # mode needs one size per batch)
    shapes = [(100, 150), (70, 130)] if training else [(100, 150)]
    make = BATCHES[scope]
    ref = host(make(shapes), training)
    out = ours(make(shapes), training)
    assert out['inputs'].dtype == torch.uint8
    assert out['inputs'].shape[-2:] == ref['inputs'].shape[-2:]
    for a, b in zip(ref['data_samples'], out['data_samples']):
        assert a.metainfo.keys() == b.metainfo.keys()
        for key in a.metainfo:
            assert a.metainfo[key] == b.metainfo[key], key
        if scope == 'seg' and training:
            assert torch.equal(a.gt_sem_seg.data, b.gt_sem_seg.data)

    g_ref = grid_over(ref, 64)
    g_out = grid_over(out, 64, ours.normalize_patch)
    cells = g_ref.all_cells()
    torch.testing.assert_close(
        g_out.gather(g_out.pad(out['inputs']), g_out.index(cells)),
        g_ref.gather(g_ref.pad(ref['inputs']), g_ref.index(cells)), rtol=0,
        atol=1e-5)
    torch.testing.assert_close(
        g_out.global_patch(out['inputs'], (32, 48)),
        g_ref.global_patch(ref['inputs'], (32, 48)), rtol=0, atol=1e-4)


def test_one_image_is_not_copied():
    """The dataloader's image is the batch: no second copy of the pixels."""
    _, ours = pair('det')
    data = det_batch([(128, 96)])
    image = data['inputs'][0]
    out = ours(data, True)
    assert out['inputs'].data_ptr() == image.data_ptr()


def test_stacked_uint8_batch():
    """default_collate (mmpretrain's usual) hands in one stacked uint8
    tensor: same result as the list of images, and a batch of one is still
    a view."""
    host, ours = pair('cls')
    data = cls_batch([(64, 96), (64, 96)])
    listed = ours(copy.deepcopy(data), True)['inputs']
    data['inputs'] = torch.stack(data['inputs'])
    stacked = ours(data, True)['inputs']
    assert stacked.dtype == torch.uint8
    assert torch.equal(stacked, listed)
    one = cls_batch([(64, 96)])
    one['inputs'] = torch.stack(one['inputs'])
    assert ours(one, True)['inputs'].data_ptr() == one['inputs'].data_ptr()


def test_float_inputs_go_to_the_host():
    host, ours = pair('det')
    data = det_batch([(64, 64)])
    data['inputs'] = [i.float() for i in data['inputs']]
    ref = host(copy.deepcopy(data), False)['inputs']
    assert torch.equal(ours(data, False)['inputs'], ref)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match='pad_value=5.*must be 0'):
        pair('det', pad_value=5)
    with pytest.raises(ValueError, match='pad_val=3.*must be 0'):
        pair('seg', pad_val=3)
    with pytest.raises(ValueError, match='pad_value=2.*must be 0'):
        pair('cls', pad_value=2)
    with pytest.raises(ValueError, match='batch_augments'):
        pair('det', batch_augments=[
            dict(type='BatchFixedSizePad', size=(64, 64))])
    grid = PatchGrid((64, 64), 32)
    with pytest.raises(TypeError, match='without a normaliser'):
        grid.gather(torch.zeros(1, 3, 64, 64, dtype=torch.uint8),
                    grid.index(grid.all_cells()))


def test_detector_step_equals_host_preprocessor(det_scope):
    """A PatchGlobalDetector's training step gives the same losses and
    update with the uint8 batch as with the host's float batch."""
    from mmengine.optim import build_optim_wrapper

    from tests.test_models.test_detector import build, fcos_cfg
    shapes = [(256, 300), (200, 250)]
    grads, losses = [], []
    for kind in ('DetDataPreprocessor', 'PatchDetDataPreprocessor'):
        cfg = fcos_cfg(data_preprocessor=dict(
            type=kind, mean=MEAN, std=STD, bgr_to_rgb=True,
            pad_size_divisor=128))
        cfg['patch_cfg'] = dict(cfg['patch_cfg'], sample_fraction=0.5)
        model = build(cfg)
        model.eval()  # BN on running statistics: the two runs stay equal
        optim = build_optim_wrapper(model, dict(
            optimizer=dict(type='SGD', lr=0.01)))
        log_vars = model.train_step(det_batch(shapes), optim)
        losses.append(log_vars['loss'])
        grads.append(model.backbone.conv1.weight.detach().clone())
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_detector_predictions_equal_host_preprocessor(det_scope):
    """Whole-image inference (mmengine's test_step) on the uint8 batch gives
    the host preprocessor's boxes and scores, on a non-square image."""
    from tests.test_models.test_detector import build, fcos_cfg
    results = []
    for kind in ('DetDataPreprocessor', 'PatchDetDataPreprocessor'):
        model = build(fcos_cfg(data_preprocessor=dict(
            type=kind, mean=MEAN, std=STD, bgr_to_rgb=True,
            pad_size_divisor=128)))
        model.eval()
        with torch.no_grad():
            out = model.test_step(det_batch([(200, 330)]))[0]
        results.append(out.pred_instances)
    assert len(results[0]) > 0
    torch.testing.assert_close(results[0].bboxes, results[1].bboxes,
                               rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(results[0].scores, results[1].scores,
                               rtol=1e-4, atol=1e-5)


def test_classifier_step_equals_host_preprocessor(cls_scope):
    """A PatchGlobalClassifier's training step gives the same loss and
    update with the uint8 batch as with mmpretrain's float batch."""
    from mmengine.optim import OptimWrapper

    from tests.test_models.test_classifier import build, cls_cfg
    shapes = [(96, 128), (70, 100)]
    grads, losses = [], []
    for kind in ('ClsDataPreprocessor', 'PatchClsDataPreprocessor'):
        model = build(cls_cfg(data_preprocessor=dict(
            type=kind, mean=MEAN, std=STD, to_rgb=True, num_classes=4,
            pad_size_divisor=32)))
        model.eval()  # BN on running statistics: the two runs stay equal
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
        losses.append(model.train_step(cls_batch(shapes), optim)['loss'])
        grads.append(model.backbone.conv1.weight.detach().clone())
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)
