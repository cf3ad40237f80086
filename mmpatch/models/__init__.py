"""Task models. Each module registers into its host library's registry and
imports only that library, so a config imports the one it needs:

* ``mmpatch.models.segmentor``: ``PatchGlobalSegmentor`` (mmseg)
* ``mmpatch.models.detector``: ``PatchGlobalDetector`` (mmdet)
* ``mmpatch.models.classifier``: ``PatchGlobalClassifier`` (mmpretrain)
"""
