"""mmdet's own packaged tools/test.py scores a PatchGlobalDetector checkpoint
exactly as mmpatch's tools/test.py does."""
import os
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

CONFIG = '''
_base_ = '{root}/configs/det/fcos_patchgd_ultradigits.py'
data_root = '{data}/'
scale = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                          'img_shape', 'scale_factor')),
]
model = dict(patch_cfg=dict(patch_size=128, inner_iters=1),
             test_cfg=dict(score_thr=0.0))  # an untrained model still scores
train_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_iters=3, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=3))
'''


def _map(output: str) -> str:
    found = re.findall(r'coco/bbox_mAP: ([0-9.]+)', output)
    assert found, output[-3000:]
    return found[-1]


def test_mmdet_packaged_test_py_gives_our_ap(tmp_path):
    from mmpatch.datasets import generate_ultradigits
    data = tmp_path / 'ud'
    generate_ultradigits(str(data), canvas_size=256, num_train=4, num_val=3,
                         num_test=1)
    cfg = tmp_path / 'det.py'
    cfg.write_text(CONFIG.format(root=ROOT, data=data))
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    run = dict(cwd=ROOT, env=env, capture_output=True, text=True)
    train = subprocess.run([sys.executable, 'tools/train.py', str(cfg),
                            '--work-dir', str(work)], **run)
    assert train.returncode == 0, train.stderr[-3000:]
    ckpt = str(work / 'iter_3.pth')
    ours = subprocess.run([sys.executable, 'tools/test.py', str(cfg), ckpt,
                           '--work-dir', str(tmp_path / 't1')], **run)
    assert ours.returncode == 0, ours.stderr[-3000:]
    import mmdet
    host_test = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools',
                         'test.py')
    host = subprocess.run([sys.executable, host_test, str(cfg), ckpt,
                           '--work-dir', str(tmp_path / 't2')], **run)
    assert host.returncode == 0, host.stderr[-3000:]
    assert _map(ours.stdout + ours.stderr) == _map(host.stdout + host.stderr)
