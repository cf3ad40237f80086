"""What a measurement builds from a config: the model (PatchGD, or the
host library's stock model of the same network) and its optimizer.

Nothing here knows a model's internals: the stock baseline of a PatchGD
config is :meth:`~mmpatch.models.host.HostModel.host_model_cfg` of the
config's model class, and a model is PatchGD when it is a
:class:`PatchGDMixin`.
"""
import copy
import importlib
import os.path as osp
from typing import Any, Optional

#: host library (a config's ``default_scope``) -> task
SCOPES = {
    'mmdet': 'det',
    'mmseg': 'seg',
    'mmpretrain': 'cls',
}
#: the modules that register mmpatch's task models, per host library
TASK_MODULES = {
    'mmdet': 'mmpatch.models.detector',
    'mmseg': 'mmpatch.models.segmentor',
    'mmpretrain': 'mmpatch.models.classifier',
}


def scrub_downloads(obj: Any) -> None:
    """Drop pretrained weights that would be downloaded or are missing."""
    if isinstance(obj, dict):
        init = obj.get('init_cfg')
        for item in (init if isinstance(init, list) else [init]):
            if isinstance(item, dict) and item.get('type') == 'Pretrained':
                ckpt = str(item.get('checkpoint', ''))
                if not osp.isfile(ckpt):
                    obj['init_cfg'] = None
                    break
        if isinstance(obj.get('pretrained'), str) and not osp.isfile(
                obj['pretrained']):
            obj['pretrained'] = None
        for value in obj.values():
            scrub_downloads(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            scrub_downloads(value)


def patchgd_class(name):
    """The PatchGD model class registered as ``name``, or None."""
    from mmpatch.patchgd import PatchGDMixin
    for scope, module in TASK_MODULES.items():
        importlib.import_module(module)
        registry = importlib.import_module(f'{scope}.registry').MODELS
        cls = registry.get(name) if isinstance(name, str) else None
        if isinstance(cls, type) and issubclass(cls, PatchGDMixin):
            return cls
    return None


def stock_model_cfg(model_cfg: dict) -> dict:
    """The host library's stock model for a PatchGD model config
    (:meth:`~mmpatch.models.host.HostModel.host_model_cfg` of the config's
    model class)."""
    cls = patchgd_class(model_cfg.get('type'))
    if cls is None:
        return copy.deepcopy(model_cfg)  # already a stock model
    return cls.host_model_cfg(model_cfg)


def patch_size(model_cfg: dict) -> Optional[int]:
    """The patch side of a PatchGD model config, None for a stock model
    (the model class is looked up only when ``patch_cfg`` has no size)."""
    patch = (model_cfg.get('patch_cfg') or {}).get('patch_size')
    if patch is None:
        if patchgd_class(model_cfg.get('type')) is None:
            return None
        from mmpatch.patchgd import PatchGDConfig
        patch = PatchGDConfig().patch_size
    return int(patch if isinstance(patch, int) else patch[0])


def num_classes(model_cfg: dict, task: str) -> int:
    """The classes of the model's head (for the synthetic labels)."""
    key = dict(det='bbox_head', seg='decode_head', cls='head')[task]
    return int((model_cfg.get(key) or {}).get('num_classes', 2) or 2)


def fix_classifier_head(model_cfg: dict, registry, patch: int) -> None:
    """A stock classifier's head reads the pooled backbone features, whose
    width differs from the PatchGD grid head's: probe it."""
    import torch
    backbone = registry.build(copy.deepcopy(model_cfg['backbone']))
    neck = registry.build(copy.deepcopy(model_cfg['neck']))
    backbone.eval()
    with torch.no_grad():
        feats = neck(backbone(torch.zeros(1, 3, patch, patch)))
    vec = feats[-1] if isinstance(feats, (list, tuple)) else feats
    model_cfg['head']['in_channels'] = int(vec.flatten(1).shape[1])


def load_config(path: str, cfg_options: Optional[dict] = None):
    """The config with ``cfg_options`` merged, its ``custom_imports``
    imported and its host library's modules registered; returns
    ``(cfg, scope, task)``."""
    from mmengine.config import Config
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'{path}: default_scope={scope!r}; the benchmark '
                         f'knows {sorted(SCOPES)}')
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    importlib.import_module(f'{scope}.utils').register_all_modules(
        init_default_scope=False)
    return cfg, scope, SCOPES[scope]


def build_model(cfg, scope: str, stock: bool, patch: Optional[int],
                seed: int, device):
    """The model of ``cfg`` (its stock baseline when ``stock``) in train
    mode on ``device``, and its ``OptimWrapper`` (``cfg.optim_wrapper``).
    Call inside the config's default scope."""
    import torch
    from mmengine.optim import build_optim_wrapper
    registry = importlib.import_module(f'{scope}.registry').MODELS
    model_cfg = copy.deepcopy(cfg.model)
    # as mmengine's Runner does (mmpretrain configs keep it top level)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor',
                             copy.deepcopy(cfg.data_preprocessor))
    if stock:
        model_cfg = stock_model_cfg(model_cfg)
    scrub_downloads(model_cfg)
    if stock and model_cfg.get('type') == 'ImageClassifier':
        fix_classifier_head(model_cfg, registry, patch or 224)
    torch.manual_seed(seed)
    model = registry.build(model_cfg)
    model.init_weights()
    model.to(device)
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper), model_cfg
