"""Print, as one JSON line, what a GPU run is measured on: date, Python,
torch and CUDA, the GPU, the driver, and the OpenMMLab stack's versions
(tools/analysis_tools/device_check.py runs it in the environment it
installed)."""
import datetime
import json
import os
import platform
import subprocess


def machine_info() -> dict:
    import torch
    out = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec='seconds'), cpu_count=os.cpu_count(),
               python=platform.python_version(), torch=torch.__version__,
               cuda=torch.version.cuda,
               cuda_available=torch.cuda.is_available())
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        out.update(gpu=props.name, gpu_memory_mib=props.total_memory // 2**20,
                   gpu_count=torch.cuda.device_count())
    for name in ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain'):
        try:
            out[name] = __import__(name).__version__
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            out[name] = f'missing: {exc}'
    try:
        from mmcv.ops import get_compiling_cuda_version
        out['mmcv_ops_cuda'] = get_compiling_cuda_version()
    except Exception as exc:  # noqa: BLE001
        out['mmcv_ops_cuda'] = f'no ops: {exc}'
    try:
        smi = subprocess.run(['nvidia-smi', '--query-gpu=driver_version',
                              '--format=csv,noheader'], capture_output=True,
                             text=True, timeout=30)
        out['driver'] = smi.stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        out['driver'] = None
    return out


if __name__ == '__main__':
    print(json.dumps(machine_info()))
