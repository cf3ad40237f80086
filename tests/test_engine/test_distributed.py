"""Two-process DDP on a CPU (gloo) equals one process with the same batch.

issue 8: the segmentor and the detector train for a few PatchGD steps under
:class:`PatchGDDistributedDataParallel`, each of 2 ranks holding 1 image of a
global batch of 2. The final parameters must equal those of one process
training on both images (1e-5): the cell sampler draws from (seed, step,
global image index = rank * local batch + i), the gradients are averaged
once per optimizer step, and the losses are means over equal-sized images
(mmseg's CE and Dice) or normalised by ``reduce_mean`` over the ranks
(FCOS's ``num_pos`` and centerness denominator).

Normalisation layers are batch independent (GroupNorm; BatchNorm frozen with
``norm_eval=True``): per-rank BatchNorm statistics differ from whole-batch
statistics by design (use ``SyncBN`` in the config to share them).

The workers are started with ``torch.multiprocessing.spawn`` and join the
process group with torchrun's environment variables. Besides the weights,
they report every ``torch.distributed.all_reduce`` call (patched in the
worker processes only) and every bucket DDP's own reducer sends (through a
communication hook), which pins down "gradients are all-reduced once per
optimizer step, never once per inner backward".
"""
import datetime
import os
import socket

import pytest
import torch

STEPS = 3
WORLD = 2
GN = dict(type='GN', num_groups=2, requires_grad=True)


# ------------------------------------------------------------- the models --
def seg_model(**patch_cfg):
    """The tiny U-Net segmentor of the model tests, with GroupNorm."""
    import mmpatch.models.segmentor  # noqa: F401
    from tests.test_models.test_segmentor import build, unet_cfg
    cfg = unet_cfg(patch_cfg=dict(
        dict(patch_size=32, inner_iters=2, accumulate=2, patches_per_iter=2,
             sampling='disjoint', fill_chunk=4), **patch_cfg))
    cfg['backbone']['norm_cfg'] = GN
    cfg['decode_head']['norm_cfg'] = GN
    return build(cfg)


def seg_full_model(**patch_cfg):
    """The same U-Net trained with gradient='full' (chunks of 4 patches)."""
    import mmpatch.models.segmentor  # noqa: F401
    from tests.test_models.test_segmentor import build, unet_cfg
    cfg = unet_cfg(patch_cfg=dict(patch_size=32, gradient='full',
                                  fill_chunk=4, **patch_cfg))
    cfg['backbone']['norm_cfg'] = GN
    cfg['decode_head']['norm_cfg'] = GN
    return build(cfg)


def det_model():
    """The tiny FCOS of the model tests, its ResNet's BatchNorm frozen."""
    import mmpatch.models.detector  # noqa: F401
    from tests.test_models.test_detector import build, fcos_cfg
    cfg = fcos_cfg(patch_cfg=dict(patch_size=128, inner_iters=2,
                                  accumulate=2, patches_per_iter=1,
                                  sampling='random', fill_chunk=4))
    cfg['backbone']['norm_eval'] = True  # FCOSHead's towers use GN
    return build(cfg)


def seg_batch(step, images):
    """Step ``step``'s global batch (2 images of 64x96: a 2x3 grid)."""
    from tests.test_models.test_segmentor import samples_for
    g = torch.Generator().manual_seed(100 + step)
    inputs = [torch.randint(0, 256, (3, 64, 96), generator=g,
                            dtype=torch.uint8) for _ in range(2)]
    samples = samples_for([(64, 96)] * 2, (64, 96), seed=step)
    return dict(inputs=[inputs[i] for i in images],
                data_samples=[samples[i] for i in images])


def det_batch(step, images):
    """Step ``step``'s global batch (2 images of 256x256: a 2x2 grid)."""
    from tests.test_models.test_detector import det_samples
    g = torch.Generator().manual_seed(200 + step)
    inputs, boxes, labels = [], [], []
    for i in range(2):
        img = torch.randint(0, 40, (3, 256, 256), generator=g,
                            dtype=torch.uint8)
        x0, y0 = 20 + 60 * i + 10 * step, 30 + 40 * i
        img[:, y0:y0 + 90, x0:x0 + 110] = 200  # a bright object ...
        inputs.append(img)
        boxes.append([[x0, y0, x0 + 110., y0 + 90.],  # ... crossing patches
                      [150., 160., 200., 230.]])
        labels.append([i, 2])
    samples = det_samples([(256, 256)] * 2, boxes, labels, (256, 256))
    return dict(inputs=[inputs[i] for i in images],
                data_samples=[samples[i] for i in images])


TASKS = dict(seg=(seg_model, seg_batch, 'mmseg'),
             det=(det_model, det_batch, 'mmdet'),
             seg_full=(seg_full_model, seg_batch, 'mmseg'),
             # the first of the 3 fill chunks keeps its graph (#31)
             seg_kept=(lambda: seg_full_model(keep_chunks=1), seg_batch,
                       'mmseg'))


def optim_for(model):
    from mmengine.optim import OptimWrapper
    return OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))


def grad_numel(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train(model, make_batch, images, steps=STEPS, step_fn=None):
    """``steps`` PatchGD steps on ``images`` of each step's global batch."""
    optim = optim_for(model)
    step_fn = step_fn or model.train_step
    model.train()
    for step in range(steps):
        step_fn(make_batch(step, images), optim)


# ------------------------------------------------------------ the workers --
def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _count_all_reduce(calls):
    """Record the size of every ``torch.distributed.all_reduce`` call."""
    import torch.distributed as dist
    original = dist.all_reduce

    def counting(tensor, *args, **kwargs):
        calls.append(tensor.numel())
        return original(tensor, *args, **kwargs)

    dist.all_reduce = counting


def _worker(rank, port, init_path, out_dir):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), WORLD_SIZE=str(WORLD),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=120))
    try:
        from mmengine.model import MMDistributedDataParallel

        from mmpatch.engine.distributed import PatchGDDistributedDataParallel
        from tests.conftest import host_scope
        init = torch.load(init_path)
        calls = []
        _count_all_reduce(calls)
        out = {}
        for task, (make_model, make_batch, scope) in TASKS.items():
            with host_scope(scope):
                model = make_model()
                model.load_state_dict(init[task])
                if rank == 1:  # DDP must broadcast rank 0's weights
                    with torch.no_grad():
                        for p in model.parameters():
                            p.add_(1.0)
                wrapper = PatchGDDistributedDataParallel(module=model)
                synced = {k: v.clone() for k, v in model.state_dict().items()}
                buckets = []

                def hook(state, bucket, buckets=buckets):
                    buckets.append(bucket.buffer().numel())
                    fut = dist.all_reduce(bucket.buffer(), async_op=True)
                    return fut.get_future().then(lambda f: f.value()[0])

                wrapper.register_comm_hook(None, hook)
                del calls[:]
                torch.manual_seed(0)  # the sampler's seed (patch_cfg.seed)
                train(model, make_batch, [rank], step_fn=wrapper.train_step)
                out[task] = dict(
                    synced=synced, state=model.state_dict(),
                    calls=list(calls), buckets=list(buckets),
                    grad_numel=grad_numel(model))

        with host_scope('mmseg'):
            # accumulate=1: one all-reduce per inner iteration, I per step
            model = seg_model(accumulate=1)
            model.load_state_dict(init['seg'])
            wrapper = PatchGDDistributedDataParallel(module=model)
            del calls[:]
            train(model, seg_batch, [rank], steps=1,
                  step_fn=wrapper.train_step)
            out['seg_accumulate_1'] = list(calls)

            # mmengine's default wrapper runs forward(mode='loss'): refused
            model = seg_model()
            wrapper = MMDistributedDataParallel(module=model)
            try:
                wrapper.train_step(seg_batch(0, [rank]), optim_for(model))
            except RuntimeError as e:
                out['default_wrapper_error'] = str(e)
        torch.save(out, os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def ddp_run(tmp_path_factory):
    """Run the workers once; return the initial weights and their reports."""
    import torch.multiprocessing as mp

    from tests.conftest import host_scope
    tmp = tmp_path_factory.mktemp('ddp')
    init = {}
    for task, (make_model, _, scope) in TASKS.items():
        with host_scope(scope):
            init[task] = make_model().state_dict()
    init_path = str(tmp / 'init.pth')
    torch.save(init, init_path)
    mp.spawn(_worker, args=(_free_port(), init_path, str(tmp)),
             nprocs=WORLD, join=True)
    reports = [torch.load(str(tmp / f'rank{r}.pth')) for r in range(WORLD)]
    return init, reports


@pytest.mark.parametrize('task', ['seg', 'det', 'seg_full', 'seg_kept'])
def test_ddp_equals_single_process(ddp_run, task):
    from tests.conftest import host_scope
    init, reports = ddp_run
    make_model, make_batch, scope = TASKS[task]
    with host_scope(scope):
        model = make_model()
        model.load_state_dict(init[task])
        torch.manual_seed(0)
        train(model, make_batch, [0, 1])
    single = model.state_dict()

    for rank, report in enumerate(reports):
        # DDP broadcast rank 0's weights (rank 1 had perturbed its own)
        for key, value in report[task]['synced'].items():
            torch.testing.assert_close(value, init[task][key], rtol=0,
                                       atol=0, msg=f'{rank} {key}')
        state = report[task]['state']
        assert int(state['patchgd_step']) == STEPS
        moved = 0
        for key, value in single.items():
            torch.testing.assert_close(
                state[key], value, rtol=0, atol=1e-5,
                msg=lambda m, key=key: f'rank {rank}, {task} {key}: {m}')
            moved += int(not torch.equal(value, init[task][key]))
        # a comparison of unchanged weights proves nothing
        assert moved > 0.8 * len(list(model.parameters()))


@pytest.mark.parametrize('task', ['seg', 'det', 'seg_full', 'seg_kept'])
def test_gradients_all_reduced_once_per_optimizer_step(ddp_run, task):
    """inner_iters=2, accumulate=2 (or gradient='full', one iteration and
    its chunked backward): one gradient all-reduce per step.

    mmdet's FCOS also calls ``all_reduce`` inside its loss (``reduce_mean``
    of ``num_pos`` and of the centerness denominator, once per inner
    iteration): scalars, counted apart. DDP's own reducer never runs (its
    communication hook never fires): the inner loop bypasses
    ``DDP.forward``.
    """
    _, reports = ddp_run
    for report in reports:
        rep = report[task]
        grads = [n for n in rep['calls'] if n == rep['grad_numel']]
        others = [n for n in rep['calls'] if n != rep['grad_numel']]
        assert len(grads) == STEPS
        assert rep['buckets'] == []
        if task != 'det':
            assert others == []
        else:  # FCOSHead.loss_by_feat: 2 reduce_mean scalars an iteration
            assert others == [1] * (2 * 2 * STEPS)


def test_accumulate_one_syncs_every_inner_iteration(ddp_run):
    _, reports = ddp_run
    for report in reports:
        assert len(report['seg_accumulate_1']) == 2
        assert len(set(report['seg_accumulate_1'])) == 1


def test_default_wrapper_is_refused(ddp_run):
    """mmengine's MMDistributedDataParallel would train the full
    computation; the model refuses and names the wrapper to use."""
    _, reports = ddp_run
    for report in reports:
        msg = report.get('default_wrapper_error', '')
        assert "forward(mode='loss')" in msg
        assert "model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel"\
            in msg


def test_wrapper_rejects_plain_models():
    from mmpatch.engine.distributed import PatchGDDistributedDataParallel
    with pytest.raises(TypeError, match='mmpatch models only'):
        PatchGDDistributedDataParallel(module=torch.nn.Linear(2, 2))


def test_default_wrapper_is_refused_with_one_rank(seg_scope, monkeypatch):
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(_free_port()))
    dist.init_process_group('gloo', rank=0, world_size=1)
    try:
        model = seg_model()
        wrapper = MMDistributedDataParallel(module=model)
        model.train()
        with pytest.raises(RuntimeError,
                           match='PatchGDDistributedDataParallel'):
            wrapper.train_step(seg_batch(0, [0, 1]), optim_for(model))
    finally:
        dist.destroy_process_group()
