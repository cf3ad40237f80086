"""Every shipped config parses, and builds its model in its library's scope."""
import glob
import os.path as osp

import pytest
import torch

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


def test_configs_found():
    assert len(CONFIGS) >= 20


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds_model(path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope, init_default_scope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(osp.join(ROOT, path))
    scope = cfg.default_scope
    assert scope in ('mmdet', 'mmseg', 'mmpretrain'), path
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    model_cfg = cfg.model
    if 'data_preprocessor' in cfg and 'data_preprocessor' not in model_cfg:
        model_cfg.data_preprocessor = cfg.data_preprocessor  # mmpretrain's way
    import importlib
    importlib.import_module(f'{scope}.utils').register_all_modules(False)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        init_default_scope(scope)
        torch.manual_seed(0)
        model = registry.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0
    from mmpatch.patchgd import PatchGDMixin
    if isinstance(model, PatchGDMixin):
        # PatchGD configs select the DDP wrapper that runs the PatchGD step
        assert cfg.get('model_wrapper_cfg', {}).get(
            'type') == 'PatchGDDistributedDataParallel', path
