"""tools/train.py and tools/test.py: the shared helpers, and one real run."""
import os
import os.path as osp
import pickle
import subprocess
import sys
import textwrap
from argparse import Namespace

import numpy as np
import pytest
from mmengine.config import Config

from mmpatch.utils import cli

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_train(*argv):
    return cli.train_parser().parse_args(['configs/x/my_cfg.py', *argv])


def parse_test(*argv):
    return cli.test_parser().parse_args(
        ['configs/x/my_cfg.py', 'ckpt.pth', *argv])


def base_cfg(scope='mmdet', **kwargs):
    cfg = dict(
        default_scope=scope,
        optim_wrapper=dict(
            type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(visualization=dict(type='VisHook')),
        visualizer=dict(type='Visualizer', vis_backends=[]),
        test_dataloader=dict(
            dataset=dict(
                type='D', pipeline=[dict(type='Load'),
                                    dict(type='Pack')])),
        test_evaluator=dict(type='Metric'),
        model=dict(type='Model'))
    cfg.update(kwargs)
    return Config(cfg)


# ------------------------------------------------------------------ train --
def test_resume_flag_parsing():
    assert parse_train().resume is None
    assert parse_train('--resume').resume == 'auto'
    assert parse_train('--resume', 'a/b.pth').resume == 'a/b.pth'
    # `--resume` followed by another option still means auto
    assert parse_train('--resume', '--amp').resume == 'auto'


def test_resume_auto_and_path():
    cfg = cli.merge_train_args(
        base_cfg(load_from='pre.pth'), parse_train('--resume'))
    assert cfg.resume is True and cfg.load_from is None

    cfg = cli.merge_train_args(base_cfg(), parse_train('--resume', 'x.pth'))
    assert cfg.resume is True and cfg.load_from == 'x.pth'

    cfg = cli.merge_train_args(base_cfg(load_from='pre.pth'), parse_train())
    assert 'resume' not in cfg and cfg.load_from == 'pre.pth'


def test_work_dir_priority():
    cfg = cli.merge_train_args(base_cfg(), parse_train())
    assert cfg.work_dir == osp.join('./work_dirs', 'my_cfg')
    cfg = cli.merge_train_args(base_cfg(work_dir='from_cfg'), parse_train())
    assert cfg.work_dir == 'from_cfg'
    cfg = cli.merge_train_args(
        base_cfg(work_dir='from_cfg'), parse_train('--work-dir', 'cli'))
    assert cfg.work_dir == 'cli'
    # --cfg-options is merged first, --work-dir still wins
    cfg = cli.merge_train_args(
        base_cfg(),
        parse_train('--cfg-options', 'work_dir=opt', 'train_cfg.max_iters=7',
                   '--work-dir', 'cli'))
    assert cfg.work_dir == 'cli' and cfg.train_cfg.max_iters == 7
    assert cfg.launcher == 'none'


def test_amp():
    cfg = cli.merge_train_args(base_cfg(), parse_train('--amp'))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.optimizer.type == 'SGD'

    # a wrapper without a type is an OptimWrapper
    cfg = base_cfg(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)))
    cfg = cli.merge_train_args(cfg, parse_train('--amp'))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'

    # already AMP: warn and leave it alone
    amp = dict(type='AmpOptimWrapper', loss_scale=512.0,
               optimizer=dict(type='SGD', lr=0.1))
    cfg = cli.merge_train_args(
        base_cfg(optim_wrapper=amp), parse_train('--amp'))
    assert cfg.optim_wrapper.loss_scale == 512.0

    with pytest.raises(ValueError, match='OptimWrapper'):
        cli.merge_train_args(
            base_cfg(optim_wrapper=dict(type='OptimWrapperDict')),
            parse_train('--amp'))

    cfg = cli.merge_train_args(base_cfg(), parse_train())
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_local_rank_env(monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    cli.parse_args(cli.train_parser(), ['c.py', '--local-rank', '3'])
    assert os.environ['LOCAL_RANK'] == '3'


# ------------------------------------------------------------------- test --
def test_checkpoint_becomes_load_from():
    cfg = cli.merge_test_args(base_cfg(), parse_test())
    assert cfg.load_from == 'ckpt.pth'
    assert cfg.work_dir == osp.join('./work_dirs', 'my_cfg')
    # nothing library-specific asked: no scope needed
    cfg = cli.merge_test_args(base_cfg(scope=None), parse_test())
    assert cfg.load_from == 'ckpt.pth'


def test_show_dir_per_scope():
    cfg = cli.merge_test_args(base_cfg('mmdet'), parse_test('--show-dir', 'v'))
    hook = cfg.default_hooks.visualization
    assert hook.draw is True and hook.test_out_dir == 'v'
    assert 'show' not in hook

    cfg = cli.merge_test_args(base_cfg('mmseg'), parse_test('--show-dir', 'v'))
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.visualizer.save_dir == 'v'

    cfg = cli.merge_test_args(
        base_cfg('mmpretrain'), parse_test('--show-dir', 'v'))
    hook = cfg.default_hooks.visualization
    assert hook.enable is True and hook.out_dir == 'v' and hook.show is False


def test_show_per_scope():
    for scope in ('mmdet', 'mmseg'):
        cfg = cli.merge_test_args(
            base_cfg(scope), parse_test('--show', '--wait-time', '0.5'))
        hook = cfg.default_hooks.visualization
        assert hook.draw is True and hook.show is True
        assert hook.wait_time == 0.5
    cfg = cli.merge_test_args(base_cfg('mmpretrain'), parse_test('--show'))
    hook = cfg.default_hooks.visualization
    assert hook.enable is True and hook.show is True and hook.out_dir is None


def test_show_errors():
    with pytest.raises(ValueError, match='default_scope'):
        cli.merge_test_args(base_cfg('mmengine'), parse_test('--show'))
    with pytest.raises(RuntimeError, match='SegVisualizationHook'):
        cli.merge_test_args(
            base_cfg('mmseg', default_hooks=dict()), parse_test('--show'))


def test_out_per_scope():
    args = parse_test('--out', 'preds')
    cfg = cli.merge_test_args(base_cfg('mmseg'), args)
    assert cfg.test_evaluator.output_dir == 'preds'
    assert cfg.test_evaluator.keep_results is True

    # mmdet / mmpretrain: the config is untouched, the runner gets a metric
    cfg = cli.merge_test_args(base_cfg('mmdet'), parse_test('--out', 'p.pkl'))
    assert 'output_dir' not in cfg.test_evaluator

    class FakeRunner:
        test_evaluator = Namespace(metrics=[])

    runner = FakeRunner()
    cli.setup_out_runner(runner, 'p.pkl', 'mmpretrain')
    from mmengine.evaluator import DumpResults
    assert isinstance(runner.test_evaluator.metrics[-1], DumpResults)
    assert runner.test_evaluator.metrics[-1].out_file_path == 'p.pkl'
    with pytest.raises(ValueError, match='pkl'):
        cli.setup_out_runner(runner, 'preds', 'mmdet')
    cli.setup_out_runner(runner, 'preds', 'mmseg')  # done on the config
    cli.setup_out_runner(runner, None, 'mmdet')
    assert len(runner.test_evaluator.metrics) == 1

    pytest.importorskip('mmdet')
    from mmdet.evaluation import DumpDetResults
    cli.setup_out_runner(runner, 'p.pkl', 'mmdet')
    assert isinstance(runner.test_evaluator.metrics[-1], DumpDetResults)


@pytest.mark.filterwarnings('ignore:Cannot find ``tta_')
def test_tta():
    cfg = cli.merge_test_args(base_cfg('mmpretrain'), parse_test('--tta'))
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module.type == 'Model'
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[-1].type == 'TestTimeAug'
    assert pipeline[-1].transforms[1] == [dict(type='Pack')]

    cfg = cli.merge_test_args(base_cfg('mmdet'), parse_test('--tta'))
    assert cfg.model.type == 'DetTTAModel'
    assert cfg.test_dataloader.dataset.pipeline[-1].transforms[1][0].type \
        == 'PackDetInputs'

    seg = base_cfg(
        'mmseg',
        tta_model=dict(type='SegTTAModel'),
        tta_pipeline=[dict(type='Load'), dict(type='TestTimeAug')])
    cfg = cli.merge_test_args(seg, parse_test('--tta'))
    assert cfg.model.type == 'SegTTAModel'
    assert cfg.model.module.type == 'Model'
    with pytest.raises(RuntimeError, match='tta_pipeline'):
        cli.merge_test_args(base_cfg('mmseg'), parse_test('--tta'))


# --------------------------------------------- one real run, mmpretrain --
CONFIG = '''
default_scope = 'mmpretrain'
data_root = {data_root!r}
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        num_classes=2, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True),
    backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                  out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=64,
              loss=dict(type='CrossEntropyLoss')))
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='CustomDataset', data_root=data_root,
                 pipeline=pipeline),
    sampler=dict(type='InfiniteSampler', shuffle=True))
test_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='CustomDataset', data_root=data_root,
                 pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_evaluator = dict(type='Accuracy', topk=(1, ))
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[3])]
train_cfg = dict(by_epoch=False, max_iters=4)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
    logger=dict(type='LoggerHook', interval=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
'''


def _run(script, *argv, cwd):
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)  # weights-only loads
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', script), *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_train_resume_and_test_scripts(tmp_path):
    pytest.importorskip('mmpretrain')
    from PIL import Image
    rng = np.random.default_rng(0)
    for label, cls in enumerate(('dark', 'light')):
        (tmp_path / 'data' / cls).mkdir(parents=True)
        for i in range(4):
            img = rng.integers(0, 128, (32, 32, 3)) + 127 * label
            Image.fromarray(img.astype(np.uint8)).save(
                tmp_path / 'data' / cls / f'{i}.png')
    config = tmp_path / 'tiny_cls.py'
    config.write_text(
        textwrap.dedent(CONFIG.format(data_root=str(tmp_path / 'data'))))

    # 4 iterations, checkpoints at 2 and 4; the default work dir
    _run('train.py', str(config), cwd=tmp_path)
    work_dir = tmp_path / 'work_dirs' / 'tiny_cls'
    assert (work_dir / 'iter_4.pth').is_file()

    # `--resume` alone: the latest checkpoint of the work dir, 2 more iters
    log = _run('train.py', str(config), '--resume', '--cfg-options',
               'train_cfg.max_iters=6', cwd=tmp_path)
    assert 'resumed epoch: 0, iter: 4' in log
    assert 'Iter(train) [5/6]' in log and 'Iter(train) [1/6]' not in log

    import torch

    from mmpatch.utils import enable_safe_checkpoint_loading
    enable_safe_checkpoint_loading()
    ckpt = torch.load(work_dir / 'iter_6.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 6

    # tools/test.py with --out: mmpretrain's DumpResults pickle
    out = tmp_path / 'preds.pkl'
    log = _run('test.py', str(config), str(work_dir / 'iter_6.pth'),
               '--out', str(out), '--work-dir', str(tmp_path / 'test_wd'),
               cwd=tmp_path)
    assert 'accuracy/top1' in log
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 8 and 'pred_label' in preds[0]
