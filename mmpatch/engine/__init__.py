"""mmengine integration: one hook per job (``mmpatch.engine.hooks``) and the
DDP wrapper that owns gradient sync (``mmpatch.engine.distributed``)."""
