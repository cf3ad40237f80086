"""What ``tools/train.py`` and ``tools/test.py`` share.

The two scripts follow mmdet 3.3's ``tools/train.py`` / ``tools/test.py`` and
serve the three host libraries: which one a config belongs to is read from
its ``default_scope`` (``'mmdet'``, ``'mmseg'`` or ``'mmpretrain'``), and the
library-specific parts (``--show``/``--show-dir``, ``--out``, ``--tta``) do
what that library's own ``tools/test.py`` does. Nothing here registers a
library's modules: mmengine's ``Runner`` initialises the config's
``default_scope`` and ``Config.fromfile`` runs its ``custom_imports``.

Host-library imports stay inside the functions that need them.
"""
import argparse
import logging
import os
import os.path as osp
import warnings
from copy import deepcopy
from typing import Optional

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.logging import print_log

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')

LAUNCHERS = ['none', 'pytorch', 'slurm', 'mpi']


# ------------------------------------------------------------------ parsers --
def _add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.launch / torchrun pass `--local-rank` (torch >= 2.0)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Train a model (mmdet, mmseg or mmpretrain config)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If a checkpoint path is given, resume from it; if not, try to '
        'auto-resume from the latest checkpoint in the work directory.')
    _add_common_args(parser)
    return parser


def test_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a model (mmdet, mmseg or mmpretrain '
        'config)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out',
        type=str,
        help='dump predictions to a file: a pickle file for mmdet and '
        'mmpretrain configs, a directory of prediction images for mmseg '
        'configs (as their own tools/test.py do)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved. If specified, '
        'it will be automatically saved to the work_dir/timestamp/show_dir')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--tta', action='store_true', help='test with test-time augmentation')
    _add_common_args(parser)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv=None):
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


# ------------------------------------------------------------ config edits --
def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config file name without extension>``."""
    return osp.join('./work_dirs',
                    osp.splitext(osp.basename(config_path))[0])


def host_scope(cfg: Config) -> Optional[str]:
    """The host library of a config, from its ``default_scope``.

    ``None`` when the config has no ``default_scope`` or another one.
    """
    scope = cfg.get('default_scope', None)
    return scope if scope in SCOPES else None


def _require_scope(cfg: Config, option: str) -> str:
    scope = host_scope(cfg)
    if scope is None:
        raise ValueError(
            f'{option} needs to know the host library of the config, read '
            f"from `default_scope`, which must be one of {SCOPES}; got "
            f"{cfg.get('default_scope', None)!r}")
    return scope


def merge_cli_args(cfg: Config, args: argparse.Namespace) -> Config:
    """The options both scripts share, in mmdet's order.

    ``--cfg-options`` first, then ``launcher`` and ``work_dir`` (priority:
    ``--work-dir`` > the config's ``work_dir`` > ``./work_dirs/<name>``), and
    for ``tools/test.py`` ``load_from`` = the checkpoint.
    """
    cfg.launcher = args.launcher
    if getattr(args, 'cfg_options', None) is not None:
        cfg.merge_from_dict(args.cfg_options)
    if getattr(args, 'work_dir', None) is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(args.config)
    if getattr(args, 'checkpoint', None) is not None:
        cfg.load_from = args.checkpoint
    return cfg


def setup_amp(cfg: Config) -> Config:
    """``--amp``: ``AmpOptimWrapper`` with a dynamic loss scale."""
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        print_log(
            'AMP training is already enabled in your config.',
            logger='current',
            level=logging.WARNING)
        return cfg
    if optim_wrapper != 'OptimWrapper':
        raise ValueError(
            '`--amp` is only supported when the optimizer wrapper type is '
            f'`OptimWrapper` but got {optim_wrapper}.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
    return cfg


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to auto-resume from, or None to start afresh.

    mmengine reads ``work_dir/last_checkpoint``; a run killed while writing
    it leaves the file empty, and mmengine then fails on an empty path. Fall
    back to the newest non-empty ``*.pth`` in the work dir.
    """
    import glob
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.exists(marker):
        path = open(marker).read().strip()
        if path and osp.exists(path) and osp.getsize(path) > 0:
            return path
    ckpts = [p for p in glob.glob(osp.join(work_dir, '*.pth'))
             if osp.getsize(p) > 0]
    return max(ckpts, key=osp.getmtime) if ckpts else None


def setup_resume(cfg: Config, resume: Optional[str]) -> Config:
    """``--resume`` alone (``'auto'``): the latest checkpoint in work_dir;
    ``--resume PATH``: that file; not given: the config decides."""
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = latest_checkpoint(cfg.work_dir)
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    return cfg


def merge_train_args(cfg: Config, args: argparse.Namespace) -> Config:
    cfg = merge_cli_args(cfg, args)
    if args.amp:
        cfg = setup_amp(cfg)
    return setup_resume(cfg, args.resume)


def setup_show(cfg: Config, args: argparse.Namespace,
               scope: Optional[str] = None) -> Config:
    """``--show`` / ``--show-dir``: turn on the library's visualization hook.

    - mmdet (``DetVisualizationHook``): ``draw=True``, ``show``,
      ``wait_time``, ``test_out_dir`` (under ``work_dir/<timestamp>/``);
    - mmseg (``SegVisualizationHook``): ``draw=True``, ``show``,
      ``wait_time``; images go to the visualizer's ``save_dir``;
    - mmpretrain (``VisualizationHook``): ``enable=True``, ``show``,
      ``wait_time``, ``out_dir``.
    """
    if not (args.show or args.show_dir):
        return cfg
    scope = scope or _require_scope(cfg, '--show/--show-dir')
    hooks = cfg.get('default_hooks', None) or {}
    if 'visualization' not in hooks:
        hook_type = dict(
            mmdet='DetVisualizationHook',
            mmseg='SegVisualizationHook',
            mmpretrain='VisualizationHook')[scope]
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks; refer to '
            f"usage \"visualization=dict(type='{hook_type}')\"")
    hook = cfg.default_hooks.visualization
    if scope in ('mmdet', 'mmseg'):  # their test.py's trigger_visualization
        hook.draw = True
        if args.show:
            hook.show = True
            hook.wait_time = args.wait_time
    if scope == 'mmdet':
        if args.show_dir:
            hook.test_out_dir = args.show_dir
    elif scope == 'mmseg':
        if args.show_dir:
            if cfg.get('visualizer', None) is None:
                raise RuntimeError(
                    '--show-dir needs a `visualizer` in the config (mmseg '
                    'saves the painted images in its save_dir)')
            cfg.visualizer.save_dir = args.show_dir
    else:  # mmpretrain
        hook.enable = True
        hook.show = args.show
        hook.wait_time = args.wait_time
        hook.out_dir = args.show_dir
    return cfg


def setup_tta(cfg: Config, scope: Optional[str] = None) -> Config:
    """``--tta``: wrap the model in the library's TTA model, as their
    ``tools/test.py`` do (mmdet and mmpretrain fill in a flip TTA when the
    config has none; mmseg needs ``tta_model`` and ``tta_pipeline``)."""
    scope = scope or _require_scope(cfg, '--tta')
    if scope == 'mmseg':
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise RuntimeError(
                '--tta with an mmseg config needs `tta_model` and '
                '`tta_pipeline` in the config')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
        return cfg

    if 'tta_model' not in cfg:
        warnings.warn('Cannot find ``tta_model`` in config, '
                      'we will set it as default.')
        if scope == 'mmdet':
            cfg.tta_model = dict(
                type='DetTTAModel',
                tta_cfg=dict(
                    nms=dict(type='nms', iou_threshold=0.5),
                    max_per_img=100))
        else:
            cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
    if 'tta_pipeline' not in cfg:
        warnings.warn('Cannot find ``tta_pipeline`` in config, '
                      'we will set it as default.')
        test_data_cfg = cfg.test_dataloader.dataset
        while 'dataset' in test_data_cfg:
            test_data_cfg = test_data_cfg['dataset']
        test_pipeline = test_data_cfg.pipeline
        cfg.tta_pipeline = deepcopy(test_pipeline)
        if scope == 'mmdet':
            pack = dict(
                type='PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'scale_factor', 'flip', 'flip_direction'))
        else:
            pack = test_pipeline[-1]
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[
                dict(type='RandomFlip', prob=1.),
                dict(type='RandomFlip', prob=0.)
            ], [pack]])
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    return cfg


def setup_out_cfg(cfg: Config, out: Optional[str],
                  scope: Optional[str] = None) -> Config:
    """``--out``, the part done on the config (mmseg only): the evaluator
    writes the predicted masks into ``out`` and keeps them
    (``output_dir``, ``keep_results``), as mmseg's ``tools/test.py`` does."""
    if out is None:
        return cfg
    scope = scope or _require_scope(cfg, '--out')
    if scope == 'mmseg':
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        for evaluator in evaluators:
            evaluator['output_dir'] = out
            evaluator['keep_results'] = True
    return cfg


def setup_out_runner(runner, out: Optional[str], scope: str) -> None:
    """``--out``, the part done on the built runner (mmdet, mmpretrain):
    append the library's dump metric to the test evaluator."""
    if out is None or scope == 'mmseg':
        return
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file, got {out!r}')
    if scope == 'mmdet':
        from mmdet.evaluation import DumpDetResults
        metric = DumpDetResults(out_file_path=out)
    else:  # mmpretrain uses mmengine's DumpResults
        from mmengine.evaluator import DumpResults
        metric = DumpResults(out_file_path=out)
    runner.test_evaluator.metrics.append(metric)


def merge_test_args(cfg: Config, args: argparse.Namespace) -> Config:
    cfg = merge_cli_args(cfg, args)
    needs_scope = args.show or args.show_dir or args.tta or args.out
    scope = _require_scope(cfg, '--show/--show-dir/--tta/--out') \
        if needs_scope else host_scope(cfg)
    cfg = setup_show(cfg, args, scope)
    if args.tta:
        cfg = setup_tta(cfg, scope)
    return setup_out_cfg(cfg, args.out, scope)


def _init_cpu_process_group(cfg: Config) -> None:
    """Start gloo for a distributed launch on a machine without CUDA.

    mmengine's ``init_dist('pytorch')`` always calls
    ``torch.cuda.set_device``; the runner skips it when a process group
    already exists, so CPU launches start one here.
    """
    import torch
    import torch.distributed as dist
    if (cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available()
            or not dist.is_available() or dist.is_initialized()):
        return
    dist.init_process_group(backend='gloo')


def build_runner(cfg: Config):
    """``Runner.from_cfg``, or the config's ``runner_type`` from RUNNERS."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    # mmpatch's weights-only checkpoint loading (resume, load_from, test)
    from mmpatch.utils import enable_safe_checkpoint_loading
    enable_safe_checkpoint_loading()
    _init_cpu_process_group(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
