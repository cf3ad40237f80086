"""Quadratic-weighted Cohen's kappa, PANDA's score, as an mmpretrain metric.

mmpretrain 1.2.0 has no kappa metric; this one follows mmengine's
``BaseMetric`` API (``process`` per batch, ``compute_metrics`` once), so it
works with ``val_evaluator`` / ``test_evaluator`` and in distributed runs::

    custom_imports = dict(imports=['mmpatch.evaluation.kappa'],
                          allow_failed_imports=False)
    val_evaluator = [
        dict(type='Accuracy', topk=(1, )),
        dict(type='QuadraticWeightedKappa', num_classes=6),
    ]

It reports ``kappa/quadratic`` in [-1, 1] (1 = perfect agreement, 0 = chance),
not a percentage.
"""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS


def quadratic_weighted_kappa(gt: Sequence[int], pred: Sequence[int],
                             num_classes: Optional[int] = None) -> float:
    """Cohen's kappa with quadratic weights over the labels ``0..K-1``.

    ``kappa = 1 - sum(W * O) / sum(W * E)`` with ``O`` the confusion matrix,
    ``E`` the outer product of the two label histograms divided by the
    number of samples, and ``W[i, j] = (i - j)**2 / (K - 1)**2``.

    Distances are between label values (a class that never occurs still
    separates its neighbours), so this equals
    ``sklearn.metrics.cohen_kappa_score(gt, pred, weights='quadratic',
    labels=range(K))``. When there is no expected disagreement (every
    ground truth and every prediction is the same single class) kappa is
    undefined and ``nan`` is returned, as sklearn does.

    Args:
        gt (Sequence[int]): ground-truth labels.
        pred (Sequence[int]): predicted labels.
        num_classes (int, optional): K; ``None`` = the largest label + 1.

    Returns:
        float: the kappa.
    """
    gt = np.asarray(gt, dtype=np.int64).reshape(-1)
    pred = np.asarray(pred, dtype=np.int64).reshape(-1)
    if gt.shape != pred.shape:
        raise ValueError(f'{gt.size} ground-truth labels but {pred.size} '
                         'predictions')
    if gt.size == 0:
        raise ValueError('quadratic_weighted_kappa needs at least one sample')
    if min(gt.min(), pred.min()) < 0:
        raise ValueError('labels must be >= 0')
    k = int(max(gt.max(), pred.max())) + 1
    if num_classes is not None:
        if k > num_classes:
            raise ValueError(f'label {k - 1} found, but num_classes='
                             f'{num_classes}: labels must be < num_classes')
        k = num_classes
    observed = np.zeros((k, k), dtype=np.float64)
    np.add.at(observed, (gt, pred), 1)
    expected = np.outer(observed.sum(1), observed.sum(0)) / gt.size
    idx = np.arange(k, dtype=np.float64)
    weights = (idx[:, None] - idx[None, :])**2
    denom = (weights * expected).sum()
    if denom == 0:
        return float('nan')
    return float(1.0 - (weights * observed).sum() / denom)


@METRICS.register_module()
class QuadraticWeightedKappa(BaseMetric):
    """Quadratic-weighted kappa of the predicted labels (PANDA's metric).

    Uses each sample's ``pred_label`` (the argmax of ``pred_score`` for
    mmpretrain's classification heads) against its ``gt_label``.

    Args:
        num_classes (int, optional): K, the number of ordered classes (6 ISUP
            grades for PANDA); ``None`` = the largest label seen + 1. The
            value does not change the kappa (distances are between label
            values); giving it makes labels out of range an error.
        collect_device (str): ``'cpu'`` or ``'gpu'``, as ``BaseMetric``.
        prefix (str, optional): metric name prefix; default ``'kappa'``.
    """
    default_prefix: Optional[str] = 'kappa'

    def __init__(self,
                 num_classes: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if num_classes is not None and (not isinstance(num_classes, int)
                                        or num_classes < 2):
            raise ValueError(
                f'num_classes must be an int >= 2, got {num_classes!r}')
        self.num_classes = num_classes

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_label' in sample:
                pred = sample['pred_label']
            elif 'pred_score' in sample:
                pred = sample['pred_score'].argmax(-1, keepdim=True)
            else:
                raise KeyError('QuadraticWeightedKappa needs pred_label or '
                               'pred_score in the model outputs')
            self.results.append(
                dict(gt=int(sample['gt_label'].reshape(-1)[0]),
                     pred=int(pred.reshape(-1)[0])))

    def compute_metrics(self, results: List[dict]) -> dict:
        gt = [r['gt'] for r in results]
        pred = [r['pred'] for r in results]
        return dict(
            quadratic=quadratic_weighted_kappa(gt, pred, self.num_classes))
