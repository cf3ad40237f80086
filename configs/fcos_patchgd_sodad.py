# An alias kept at the old path so that the README's headline command
#   python tools/train.py configs/fcos_patchgd_sodad.py
# keeps working: it is configs/det/fcos_patchgd_sodad.py, unchanged.
# Edit that file, not this one. (The only alias: every other config lives
# in its task folder, configs/{det,seg,cls}/; see configs/README.md.)
_base_ = './det/fcos_patchgd_sodad.py'
