"""Metrics and sliced inference. Each metric module registers into its host
library's registry and is imported by the configs that use it, so ``import
mmpatch.evaluation`` stays light (it imports nothing)::

    custom_imports = dict(imports=['mmpatch.evaluation.kappa'],
                          allow_failed_imports=False)

* ``mmpatch.evaluation.kappa``: ``QuadraticWeightedKappa`` (mmpretrain),
  PANDA's score for ISUP grades.
* ``mmpatch.evaluation.size_buckets``: ``SizeBucketCocoMetric`` (mmdet),
  COCO AP per object-size bucket.
* ``mmpatch.evaluation.sliced``: sliced inference of a stock detector on
  whole images (slice windows, per-slice prediction, the merge).
"""
