"""QuadraticWeightedKappa against sklearn's cohen_kappa_score."""
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import cohen_kappa_score

from mmpatch.evaluation.kappa import (QuadraticWeightedKappa,
                                      quadratic_weighted_kappa)


def sk_kappa(gt, pred, k):
    return cohen_kappa_score(gt, pred, weights='quadratic',
                             labels=list(range(k)))


@pytest.mark.parametrize('seed', range(5))
def test_function_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 6, 200)
    # correlated predictions, so kappa is far from 0
    pred = np.clip(gt + rng.integers(-2, 3, 200), 0, 5)
    ours = quadratic_weighted_kappa(gt, pred, 6)
    assert ours == pytest.approx(sk_kappa(gt, pred, 6), abs=1e-12)
    assert 0.3 < ours < 1


def test_absent_classes_and_edge_cases():
    # class 2 never occurs: distances stay between label values
    gt, pred = [0, 1, 3, 3, 5, 0], [0, 3, 3, 1, 5, 5]
    assert quadratic_weighted_kappa(gt, pred, 6) == pytest.approx(
        sk_kappa(gt, pred, 6))
    assert quadratic_weighted_kappa(gt, pred) == pytest.approx(
        sk_kappa(gt, pred, 6))
    assert quadratic_weighted_kappa([0, 1, 2], [0, 1, 2]) == 1.0
    assert math.isnan(quadratic_weighted_kappa([2, 2], [2, 2], 6))
    with pytest.raises(ValueError, match='num_classes'):
        quadratic_weighted_kappa([0, 6], [0, 1], 6)
    with pytest.raises(ValueError, match='predictions'):
        quadratic_weighted_kappa([0, 1], [0], 6)


def test_metric_with_mmpretrain_samples():
    from mmpretrain.structures import DataSample
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 6, 37)
    scores = torch.rand(37, 6)
    pred = scores.argmax(1).numpy()
    metric = QuadraticWeightedKappa(num_classes=6)
    samples = [
        DataSample().set_gt_label(int(g)).set_pred_score(s).to_dict()
        for g, s in zip(gt, scores)
    ]
    for i in range(0, 37, 8):  # batches of 8
        metric.process(None, samples[i:i + 8])
    out = metric.evaluate(37)
    assert set(out) == {'kappa/quadratic'}
    assert out['kappa/quadratic'] == pytest.approx(sk_kappa(gt, pred, 6))


def test_registered_in_mmpretrain():
    from mmpretrain.registry import METRICS
    metric = METRICS.build(dict(type='QuadraticWeightedKappa', num_classes=6))
    assert isinstance(metric, QuadraticWeightedKappa)
    with pytest.raises(ValueError, match='num_classes'):
        QuadraticWeightedKappa(num_classes=1)
