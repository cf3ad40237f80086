"""``--breakdown``: the peak and time of a step split by phase.

A PatchGD model's phases are the engine's own
(:mod:`mmpatch.patchgd.phases`: each is marked in the engine's code and
heard here through :func:`~mmpatch.patchgd.phases.listen_to_phases`). A
stock model has no such marks: its phases are the host's public methods
(the data preprocessor, ``loss``/``predict``, mmengine's ``OptimWrapper``),
wrapped for one step and restored afterwards. The tables below are what
the tool documents and records (``tests/test_tools/
test_benchmark_memory.py`` asserts that every one is recorded).
"""
import time
from contextlib import nullcontext
from typing import Any, ContextManager, Dict, List, Optional

MIB = 2**20

#: a PatchGD training step, in the order the step meets them
TRAIN_PHASES = {
    'preprocess': 'the data preprocessor',
    'fill': 'Z without gradients (LatentBuffer.fill_without_grad)',
    'sample': "each inner iteration's cells (TrainStep.iterations; "
              "'sampled')",
    'patch_encode': 'θ1 with gradients on the sampled patches '
                    "(TrainStep.encode_cells; 'sampled', one pass)",
    'scatter': "their features written into Z (LatentBuffer.scatter_)",
    'chunk_encode': 'the sampled cells encoded without gradients into Z, '
                    "chunk by chunk ('sampled' with backward_chunk; "
                    'ChunkedBackward.encode)',
    'global': 'θ1 on the global patch '
              '(mmpatch.patchgd.layout.global_features)',
    'head_loss': 'fusion, θ2, the head and the loss on the whole-image maps '
                 '(PatchGDMixin.loss_by_latent)',
    'backward': "the loss's backward (OptimWrapper.backward): θ2, and θ1 "
                "through the sampled patches in one pass",
    'chunk_backward': 'θ1 re-encoded with gradients a chunk at a time and '
                      "back-propagated with its slice of dL/dZ ('full', or "
                      "'sampled' with backward_chunk; "
                      'ChunkedBackward.backward)',
    'global_backward': "the global patch's deferred backward, once per "
                       "optimizer step (global_grad='once'; "
                       'GlobalBranch.close_window)',
    'optim_step': 'the optimizer step (OptimWrapper.step)',
    'other': 'everything between these',
}
#: the stock baseline's training step
STOCK_TRAIN_PHASES = ('preprocess', 'forward_loss', 'backward', 'optim_step',
                      'other')
#: inference of a PatchGD model
INFER_PHASES = {
    'preprocess': 'the data preprocessor',
    'fill': 'Z (LatentBuffer.fill_without_grad)',
    'global': 'θ1 on the global patch '
              '(mmpatch.patchgd.layout.global_features)',
    'head_predict': 'fusion, θ2, the head and its post-processing '
                    '(PatchGDMixin.predict_by_latent)',
    'other': 'everything between these',
}
STOCK_INFER_PHASES = ('preprocess', 'predict', 'other')


class PhaseRecorder:
    """Splits a running :class:`MemoryMeter`'s peak by phase.

    At each phase boundary the meter's peak since the last boundary is
    credited to the phase that just ended (``'other'`` between phases) and
    the meter is reset to the present (live bytes stay counted, so peaks
    stay absolute). Nested phases are credited to the outermost one.
    """

    def __init__(self, meter) -> None:
        self.meter = meter
        self.peaks: Dict[str, int] = {}
        self.seconds: Dict[str, float] = {}
        self.calls: Dict[str, int] = {}
        self.stack: List[Optional[str]] = []
        self._patched: List[tuple] = []
        self._since = time.perf_counter()

    def _close(self, name: str) -> None:
        peak = self.meter.peak_bytes
        self.peaks[name] = max(self.peaks.get(name, 0), peak)
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._since
        self.meter.reset()
        self._since = time.perf_counter()

    def enter(self, name: str) -> None:
        if self.stack:
            self.stack.append(None)
            return
        self._close('other')
        self.stack.append(name)
        self.calls[name] = self.calls.get(name, 0) + 1

    def exit(self) -> None:
        name = self.stack.pop()
        if name is not None:
            self._close(name)

    def finish(self) -> Dict[str, Dict[str, float]]:
        """``{'peak_mb': {phase: MiB}, 's': {phase: seconds, summed over
        calls}}``; the meter stays running."""
        self._close('other')
        self.restore()
        return {
            'peak_mb': {k: round(v / MIB, 2)
                        for k, v in self.peaks.items()},
            's': {k: round(v, 3)
                  for k, v in self.seconds.items()},
        }

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        """Make ``owner.attr`` (a host method of an instance) a phase."""
        had = attr in vars(owner)
        saved = vars(owner).get(attr)
        original = getattr(owner, attr)
        recorder = self

        def wrapped(*args, **kwargs):
            recorder.enter(name)
            try:
                return original(*args, **kwargs)
            finally:
                recorder.exit()

        self._patched.append((owner, attr, had, saved))
        setattr(owner, attr, wrapped)

    def restore(self) -> None:
        for owner, attr, had, original in reversed(self._patched):
            if had:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
        self._patched.clear()


def wrap_phases(recorder: PhaseRecorder, model, optim_wrapper,
                training: bool) -> ContextManager:
    """Split one training step (``training``) or inference of ``model`` by
    phase: :data:`TRAIN_PHASES` / :data:`INFER_PHASES` for a PatchGD model
    (the engine's marks; the preprocessor of inference is the host's),
    :data:`STOCK_TRAIN_PHASES` / :data:`STOCK_INFER_PHASES` otherwise.
    Returns the block to run the step in."""
    from mmpatch.patchgd import PatchGDMixin, listen_to_phases
    if isinstance(model, PatchGDMixin):
        if not training:
            recorder.wrap(model.data_preprocessor, 'forward', 'preprocess')
        return listen_to_phases(recorder)
    recorder.wrap(model.data_preprocessor, 'forward', 'preprocess')
    if training:
        recorder.wrap(model, 'loss', 'forward_loss')
        recorder.wrap(optim_wrapper, 'backward', 'backward')
        recorder.wrap(optim_wrapper, 'step', 'optim_step')
    else:
        recorder.wrap(model, 'predict', 'predict')
    return nullcontext()
