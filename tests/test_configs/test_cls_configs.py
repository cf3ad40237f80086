"""The classification configs: they parse, build, and UltraDigits trains."""
import copy
import importlib
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

ULTRADIGITS = [
    'configs/cls/resnet_patchgd_ultradigits.py',
    'configs/cls/baselines/resnet_downsampled_ultradigits.py',
    'configs/cls/baselines/resnet_patchgd_noglobal_ultradigits.py',
]
PAPER = [
    'configs/cls/resnet50_patchgd_panda.py',
    'configs/cls/resnet50_patchgd_panda_512_p128.py',
    'configs/cls/resnet50_patchgd_panda_2048_p128.py',
    'configs/cls/resnet50_patchgd_panda_2048_p256.py',
    'configs/cls/resnet50_patchgd_panda_4096_p128.py',
    'configs/cls/resnet50_patchgd_panda_4096_p256.py',
    'configs/cls/baselines/resnet50_downsampled_panda.py',
    'configs/cls/baselines/resnet50_patchgd_noglobal_panda.py',
    'configs/cls/mobilenetv2_patchgd_ultramnist.py',
]
# config -> (image side, patch side or None, global fusion, num_classes)
EXPECTED = {
    'configs/cls/resnet_patchgd_ultradigits.py': (1024, 128, 'add', 4),
    'configs/cls/baselines/resnet_downsampled_ultradigits.py':
    (296, None, None, 4),
    'configs/cls/baselines/resnet_patchgd_noglobal_ultradigits.py':
    (1024, 128, None, 4),
    'configs/cls/resnet50_patchgd_panda.py': (2048, 128, 'add', 6),
    'configs/cls/resnet50_patchgd_panda_512_p128.py': (512, 128, 'add', 6),
    'configs/cls/resnet50_patchgd_panda_2048_p128.py': (2048, 128, 'add', 6),
    'configs/cls/resnet50_patchgd_panda_2048_p256.py': (2048, 256, 'add', 6),
    'configs/cls/resnet50_patchgd_panda_4096_p128.py': (4096, 128, 'add', 6),
    'configs/cls/resnet50_patchgd_panda_4096_p256.py': (4096, 256, 'add', 6),
    'configs/cls/baselines/resnet50_downsampled_panda.py':
    (1024, None, None, 6),
    'configs/cls/baselines/resnet50_patchgd_noglobal_panda.py':
    (2048, 128, None, 6),
    'configs/cls/mobilenetv2_patchgd_ultramnist.py': (512, 256, 'add', 10),
}


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """One intra-op thread: on a busy 2-core machine two OpenMP threads
    make these small steps up to 10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load(path, data_root=None, pretrained=None):
    cfg = Config.fromfile(osp.join(REPO, path))
    for mod in cfg.custom_imports['imports']:
        importlib.import_module(mod)
    if pretrained is not None:
        cfg.model.backbone.init_cfg.checkpoint = pretrained
    if data_root is not None:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key]['dataset']['data_root'] = data_root
            cfg[key]['num_workers'] = 0
            cfg[key]['persistent_workers'] = False
    return cfg


def build_model(cfg):
    """As mmengine's Runner does: the top-level data_preprocessor merged."""
    from mmpretrain.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


@pytest.mark.parametrize('path', ULTRADIGITS + PAPER)
def test_config_parses_and_builds(cls_scope, path):
    from mmpretrain.registry import METRICS, TRANSFORMS
    cfg = load(path)
    side, patch, fusion, num_classes = EXPECTED[path]
    assert cfg.default_scope == 'mmpretrain'
    model = build_model(cfg)
    assert model.head.num_classes == num_classes
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'CustomDataset'
    assert len(dataset.metainfo['classes']) == num_classes
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = cfg[key].dataset.pipeline
        resize = [t for t in pipeline if t['type'] == 'Resize']
        assert [t['scale'] for t in resize] == [(side, side)], key
        for t in pipeline:
            TRANSFORMS.build(copy.deepcopy(t))
    evaluators = cfg.val_evaluator
    if not isinstance(evaluators, list):
        evaluators = [evaluators]
    for metric in evaluators:
        METRICS.build(copy.deepcopy(metric))
    expect_metrics = ['Accuracy'] + (['QuadraticWeightedKappa']
                                     if 'panda' in path else [])
    assert [m['type'] for m in evaluators] == expect_metrics
    model.eval()
    with torch.no_grad():  # a 2x2 grid of patches, or a small image
        x = torch.rand(1, 3, 2 * (patch or 32), 2 * (patch or 32))
        assert model(x, mode='tensor').shape == (1, num_classes)
    if patch is None:  # a stock baseline
        assert type(model).__name__ == 'ImageClassifier'
        assert cfg.model_wrapper_cfg['type'] == 'MMDistributedDataParallel'
        return
    assert type(model).__name__ == 'PatchGlobalClassifier'
    assert model.patch_cfg.patch_size == (patch, patch)
    assert side % patch == 0
    assert model.global_fusion == fusion
    assert model.head.in_channels == model.grid_head.out_channels
    assert cfg.model_wrapper_cfg['type'] == 'PatchGDDistributedDataParallel'
    assert dict(type='MemoryLoggerHook') in cfg.custom_hooks
    assert dict(type='MemoryBudgetHook') in cfg.custom_hooks


@pytest.fixture(scope='module')
def ultradigits_root(tmp_path_factory):
    from mmpatch.datasets.ultradigits_cls import generate_ultradigits_cls
    root = str(tmp_path_factory.mktemp('ultradigits_cls'))
    generate_ultradigits_cls(root, canvas_size=512, num_train=4, num_val=2,
                             num_test=2)
    return root


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    """A checkpoint of tools/pretrain_digits.py, made in two small steps."""
    spec = importlib.util.spec_from_file_location(
        'pretrain_digits', osp.join(REPO, 'tools', 'pretrain_digits.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = str(tmp_path_factory.mktemp('pretrained') / 'digits.pth')
    assert tool.main(['--out', out, '--steps', '2', '--batch-size', '4',
                      '--crop', '32']) == 0
    return out


@pytest.mark.parametrize('path', ULTRADIGITS)
def test_ultradigits_configs_load_the_pretrained_backbone(
        cls_scope, pretrained, path):
    """Ours and both baselines start θ1 from the same local weights."""
    cfg = load(path, pretrained=pretrained)
    state = torch.load(pretrained, map_location='cpu')['state_dict']
    model = build_model(cfg)
    key = 'backbone.layer4.1.conv2.weight'
    assert not torch.equal(model.state_dict()[key], state[key])
    model.init_weights()
    for name, value in model.backbone.state_dict().items():
        assert torch.equal(value, state['backbone.' + name]), name


@pytest.mark.parametrize('path', ULTRADIGITS)
def test_ultradigits_train_and_val_step(cls_scope, ultradigits_root,
                                        pretrained, path):
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import DATASETS, METRICS
    cfg = load(path, ultradigits_root, pretrained)
    side = EXPECTED[path][0]
    model = build_model(cfg)
    model.init_weights()
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(train_set) == 4
    batch = pseudo_collate([train_set[i] for i in range(4)])
    assert batch['inputs'][0].shape == (3, side, side)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in model.parameters()]
    model.train()
    log_vars = model.train_step(batch, optim)
    assert torch.isfinite(log_vars['loss'])
    assert any(not torch.equal(a, p) for a, p in
               zip(before, model.parameters()))
    if EXPECTED[path][1] is not None:
        assert model.last_step_stats.grid == (8, 8)
        assert model.last_step_stats.patches_per_iter == 1

    val_set = DATASETS.build(cfg.val_dataloader.dataset)
    model.eval()
    outputs = model.val_step(pseudo_collate([val_set[0], val_set[1]]))
    assert [o.pred_score.shape for o in outputs] == [(4, )] * 2
    metric = METRICS.build(copy.deepcopy(cfg.val_evaluator))
    metric.process(None, [o.to_dict() for o in outputs])
    assert 'accuracy/top1' in metric.evaluate(2)


def test_ultradigits_runner(ultradigits_root, pretrained, tmp_path):
    """Two iterations through mmengine's Runner: hooks, loops, checkpoint."""
    from mmengine.runner import Runner
    cfg = load(ULTRADIGITS[0], ultradigits_root, pretrained)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 2
    cfg.default_hooks.checkpoint.interval = 2
    cfg.param_scheduler = []
    cfg.train_dataloader.batch_size = 2
    cfg.val_dataloader.batch_size = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_2.pth'))
    assert 'accuracy/top1' in runner.val()
