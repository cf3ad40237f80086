# An alias kept at the old path so that the headline command
#   python tools/train.py configs/fcos_patchgd_sodad.py
# and configs inheriting '.../configs/fcos_patchgd_sodad.py' keep working:
# it is configs/det/fcos_patchgd_sodad.py, unchanged. Edit that file, not this
# one. The only alias: every other config lives in its task folder,
# configs/{det,seg,cls}/ (configs/README.md).
_base_ = './det/fcos_patchgd_sodad.py'
