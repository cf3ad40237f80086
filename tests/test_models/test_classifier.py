import pytest
import torch

from tests.conftest import assert_step_equals_full


def cls_cfg(**kwargs):
    cfg = dict(
        type='PatchGlobalClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0., 0., 0.],
                               std=[1., 1., 1.], num_classes=4),
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8, out_indices=(3, ),
                      norm_cfg=dict(type='BN', requires_grad=True)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=4, in_channels=16,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        patch_cfg=dict(patch_size=32, inner_iters=1, sample_fraction=1.0,
                       fill_chunk=5),
        latent_channels=12,
        grid_head=dict(channels=16, num_blocks=2, dropout=0.0))
    cfg.update(kwargs)
    return cfg


def build(cfg):
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    from mmengine.config import ConfigDict
    return MODELS.build(ConfigDict(cfg))


def cls_samples(labels, shapes):
    from mmpretrain.structures import DataSample
    return [DataSample(metainfo=dict(img_shape=s, ori_shape=s)).set_gt_label(
        lab) for lab, s in zip(labels, shapes)]


def open_gates(model):
    """'gated' fusion starts closed (tanh(0) = 0), where the global branch
    gets no gradient: open the gates so that the tests reach it."""
    if model.global_gates is not None:
        with torch.no_grad():
            model.global_gates.uniform_(0.3, 1.0)
    return model


@pytest.mark.parametrize('fusion', ['add', 'concat', 'gated', None])
def test_exactness_step_equals_full(cls_scope, fusion):
    model = open_gates(build(cls_cfg(global_fusion=fusion)).double())
    shapes = [(96, 128), (70, 100)]
    x = torch.randn(2, 3, 96, 128, dtype=torch.float64)
    x[1, :, 70:] = 0
    x[1, :, :, 100:] = 0
    assert_step_equals_full(model, x, cls_samples([1, 3], shapes))


@pytest.mark.parametrize('fusion', ['add', 'concat', 'gated', None])
def test_exactness_full_gradient(cls_scope, fusion):
    """gradient='full': the 24 cells of two images on a 3x4 grid, pushed
    back in chunks of 5 patches, equal the full computation."""
    model = open_gates(build(cls_cfg(global_fusion=fusion, patch_cfg=dict(
        patch_size=32, gradient='full', backward_chunk=5,
        fill_chunk=5))).double())
    shapes = [(96, 128), (70, 100)]
    x = torch.randn(2, 3, 96, 128, dtype=torch.float64)
    x[1, :, 70:] = 0
    x[1, :, :, 100:] = 0
    assert_step_equals_full(model, x, cls_samples([1, 3], shapes))


def test_one_checkpoint_two_input_sizes(cls_scope, tmp_path):
    """The grid CNN is not tied to one grid: 2x2 and 5x7 grids both run."""
    model = build(cls_cfg()).eval()
    path = tmp_path / 'cls.pth'
    torch.save(model.state_dict(), path)
    other = build(cls_cfg()).eval()
    other.load_state_dict(torch.load(path))
    for shape in [(64, 64), (160, 224)]:
        x = torch.randn(1, 3, *shape)
        with torch.no_grad():
            out = other.predict(x, cls_samples([0], [shape]))
            ref = model.predict(x, cls_samples([0], [shape]))
        assert out[0].pred_score.shape == (4, )
        torch.testing.assert_close(out[0].pred_score, ref[0].pred_score)
        assert model(x, mode='tensor').shape == (1, 4)


def test_train_step_with_real_preprocessor(cls_scope):
    from mmengine.optim import OptimWrapper
    model = build(cls_cfg(patch_cfg=dict(patch_size=32, inner_iters=2,
                                         sample_fraction=0.5)))
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 96),
                                      dtype=torch.uint8) for _ in range(2)],
                data_samples=cls_samples([0, 2], [(64, 96)] * 2))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(data, optim)
    assert 'loss' in log_vars and torch.isfinite(log_vars['loss'])
    assert model.last_step_stats.patches_per_iter == 3


def test_batch_augments_rejected(cls_scope):
    with pytest.raises(ValueError, match='batch augments'):
        build(cls_cfg(train_cfg=dict(augments=dict(type='Mixup', alpha=0.2))))


def test_grid_head_norm_cfg(cls_scope):
    """``grid_head.norm_cfg`` picks θ2's normalisation; BN by default."""
    from torch import nn
    default = build(cls_cfg())
    assert all(isinstance(n, nn.BatchNorm2d) for n in default.grid_head.norms)
    model = build(cls_cfg(grid_head=dict(
        channels=16, num_blocks=2, dropout=0.0,
        norm_cfg=dict(type='GN', num_groups=4))))
    assert all(isinstance(n, nn.GroupNorm) and n.num_groups == 4
               for n in model.grid_head.norms)


def test_group_norm_grid_head_trains_one_cell_batch_of_one(cls_scope):
    """The case BatchNorm cannot train (test_bad_input's xfail: a 1x1 grid
    and a batch of one give it one value a channel) trains with GroupNorm,
    which normalises each image on its own."""
    from mmengine.optim import OptimWrapper
    model = build(cls_cfg(
        patch_cfg=dict(patch_size=64, inner_iters=1, sample_fraction=1.0),
        grid_head=dict(channels=16, num_blocks=2, dropout=0.0,
                       norm_cfg=dict(type='GN', num_groups=4))))
    model.train()
    data = dict(inputs=[torch.randint(0, 255, (3, 60, 60), dtype=torch.uint8)],
                data_samples=cls_samples([1], [(60, 60)]))
    before = [p.detach().clone() for p in model.grid_head.parameters()]
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(data, optim)
    assert torch.isfinite(log_vars['loss'])
    assert any(not torch.equal(b, p)
               for b, p in zip(before, model.grid_head.parameters()))


def test_grid_head_without_blocks_is_the_grid_mean():
    from mmpatch.models.classifier import GridHead
    head = GridHead(12, channels=16, num_blocks=0)
    assert head.out_channels == 12
    x = torch.randn(2, 12, 3, 5)
    torch.testing.assert_close(head(x), x.mean(dim=(2, 3)))
