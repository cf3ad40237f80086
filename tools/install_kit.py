"""The parts of tools/install.sh that need Python; run by the interpreter
that gets the packages (the venv's, or PYTHON itself with TARGET).

    python tools/install_kit.py select WHEELS    # a folder's wheels to install
    python tools/install_kit.py missing REQ.txt  # requirements not importable
    python tools/install_kit.py mmcv-key         # the mmcv wheel's cache key
    python tools/install_kit.py wheel-ops WHEEL  # an mmcv build's ops: cpu/cuda
    python tools/install_kit.py find-mmcv WHEELS # a usable mmcv wheel there
    python tools/install_kit.py check [--lenient]  # the import check
    python tools/install_kit.py patch-mmpretrain # beside transformers 5

``select`` is the offline install into an interpreter that already has
torch (a GPU machine): of the folder's wheels that this interpreter can
install, it keeps the OpenMMLab stack at its pins, ``setuptools`` only when
``pkg_resources`` is missing (mmengine's ``mmdet::`` config paths import
it), and any other distribution only when the interpreter lacks it: what is
present (torch, numpy, opencv, ...) is never replaced. Never torch itself.
"""
import importlib.metadata as metadata
import importlib.util
import os
import re
import sys
import zipfile

#: the OpenMMLab stack, installed at these versions even when present
PINS = {'mmengine': '0.10.7', 'mmcv': '2.1.0', 'mmdet': '3.3.0',
        'mmsegmentation': '1.2.2', 'mmpretrain': '1.2.0'}
#: never installed by this path: the interpreter's own torch stays (a
#: torchvision is installed where it is missing, like any distribution)
NEVER = re.compile(r'^(torch|triton|nvidia-.*|cuda-.*)$')
#: requirement name -> module it provides, where they differ
MODULES = {'pyyaml': 'yaml', 'pillow': 'PIL', 'opencv-python-headless': 'cv2',
           'scikit-learn': 'sklearn', 'importlib-metadata':
           'importlib_metadata', 'model-index': 'modelindex'}


def _packaging():
    try:
        from pip._vendor.packaging import tags, utils
    except ImportError:  # a pip without a vendored packaging
        from packaging import tags, utils
    return tags, utils


def norm(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def wheels(folder: str):
    """``(name, version, path)`` of the wheels in ``folder`` that this
    interpreter can install, the highest version of each name first."""
    tags, utils = _packaging()
    supported = set(tags.sys_tags())
    out = []
    for fname in sorted(os.listdir(folder)):
        if not fname.endswith('.whl'):
            continue
        try:
            name, version, _, wtags = utils.parse_wheel_filename(fname)
        except Exception:  # noqa: BLE001 - not a wheel name: ignore it
            continue
        if supported & set(wtags):
            out.append((norm(name), version, os.path.join(folder, fname)))
    return sorted(out, key=lambda w: (w[0], w[1]), reverse=True)


def installed(name: str):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def select(folder: str):
    """The wheels of ``folder`` to install (mmcv apart: see find-mmcv)."""
    chosen, notes = {}, []
    for name, version, path in wheels(folder):
        if name in chosen or NEVER.match(name) or name == 'mmcv':
            continue
        if name in PINS:
            if str(version) == PINS[name]:
                chosen[name] = path
            continue
        if name == 'setuptools':
            if importlib.util.find_spec('pkg_resources') is None:
                chosen[name] = path
            continue
        have = installed(name)
        if have is None:
            chosen[name] = path
        else:
            notes.append(f'{name} {have} present: kept (folder: {version})')
    missing = [n for n in PINS if n != 'mmcv' and n not in chosen]
    if missing:
        raise SystemExit(f'{folder} has no wheel of ' + ', '.join(
            f'{n}=={PINS[n]}' for n in missing) + ' for this interpreter')
    for note in notes:
        print(f'[install]     {note}', file=sys.stderr)
    return list(chosen.values())


def find_mmcv(folder: str):
    for name, version, path in wheels(folder):
        if name == 'mmcv' and str(version) == PINS['mmcv']:
            return path
    return None


def missing(req_files):
    """Requirement lines of ``req_files`` whose module does not import."""
    out = []
    for req_file in req_files:
        with open(req_file) as f:
            for line in f:
                req = line.split('#')[0].strip()
                if not req:
                    continue
                name = norm(re.split(r'[<>=!~ \[;]', req)[0])
                module = MODULES.get(name, name.replace('-', '_'))
                if importlib.util.find_spec(module) is None:
                    out.append(req)
    return out


def wheel_ops(path: str) -> str:
    """'cuda' when the wheel's compiled ops hold CUDA kernels, else 'cpu'."""
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith('mmcv/_ext') and n.endswith('.so'):
                return 'cuda' if b'__cudaRegisterFatBinary' in z.read(n) \
                    else 'cpu'
    return 'none'


def mmcv_key() -> str:
    """``torch-<version>/ops-<cpu|cuda-smXX...>/<python tag>``.

    The ops follow mmcv's own setup.py: CUDA kernels when ``FORCE_CUDA=1``
    or when torch sees a GPU. Their architectures are
    ``TORCH_CUDA_ARCH_LIST``, else those of the visible GPUs, else those
    torch was built for; ``install.sh`` exports the list it was keyed by,
    so the build and the key agree.
    """
    import torch
    py = f'cp{sys.version_info[0]}{sys.version_info[1]}'
    cuda = (os.environ.get('FORCE_CUDA', '0') == '1'
            or torch.cuda.is_available())
    if not cuda:
        return f'torch-{torch.__version__}/ops-cpu/{py} '
    archs = os.environ.get('TORCH_CUDA_ARCH_LIST', '').strip()
    if not archs:
        if torch.cuda.is_available():
            caps = sorted({torch.cuda.get_device_capability(i)
                           for i in range(torch.cuda.device_count())})
            archs = ';'.join(f'{a}.{b}' for a, b in caps)
        else:
            archs = ';'.join(f'{a[3:-1]}.{a[-1]}' for a in
                             torch.cuda.get_arch_list() if a.startswith('sm_'))
    tag = '-'.join(
        a.replace('.', '').replace('+PTX', 'ptx').lower()
        for a in re.split(r'[;\s]+', archs) if a)
    return f'torch-{torch.__version__}/ops-cuda-sm{tag}/{py} {archs}'


#: mmpretrain 1.2.0's switch of its multimodal models, and the switch made
#: to stay off with transformers 5 (its BLIP/Flamingo modules subclass
#: transformers classes that 5.x removed: ``TypeError: NoneType takes no
#: arguments`` at import, which takes ``import mmdet.models`` down with it)
MULTIMODAL = ("    for item in ['pycocotools', 'transformers>=4.28.0'])",
              "    for item in ['pycocotools', 'transformers>=4.28.0']) "
              "and not satisfy_requirement('transformers>=5.0.0')")


def patch_mmpretrain(path: str = None) -> str:
    """Keep mmpretrain 1.2.0's multimodal models off beside transformers
    5 (their placeholders stay; nothing mmpatch uses changes): one line of
    the installed ``mmpretrain/utils/dependency.py`` (or ``path``), found
    without importing mmpretrain. Idempotent; returns what it did."""
    if path is None:
        spec = importlib.util.find_spec('mmpretrain')
        if spec is None or not spec.origin:
            return 'mmpretrain is not installed: nothing to patch'
        path = os.path.join(os.path.dirname(spec.origin), 'utils',
                            'dependency.py')
    with open(path) as f:
        text = f.read()
    if MULTIMODAL[1] in text:
        return f'{path}: already patched'
    if MULTIMODAL[0] not in text:
        return (f'{path}: not mmpretrain 1.2.0\'s multimodal switch, left '
                'alone')
    with open(path, 'w') as f:
        f.write(text.replace(MULTIMODAL[0], MULTIMODAL[1]))
    return f'{path}: multimodal models off with transformers>=5'


def check(strict: bool = True) -> None:
    """Import the stack as the tests and tools use it; fail loudly (without
    ``strict``, a mmpretrain that lacks a module is a warning)."""
    import torch
    from mmcv.ops import get_compiling_cuda_version, nms  # noqa: F401
    import mmcv
    import mmdet
    import mmengine
    import mmseg
    for scope in ('mmdet', 'mmseg'):  # models and datasets
        importlib.import_module(f'{scope}.utils').register_all_modules(False)
    import mmpatch.models.detector  # noqa: F401
    import mmpatch.models.segmentor  # noqa: F401
    libs = [torch, mmengine, mmcv, mmdet, mmseg]
    try:  # mmpretrain imports torchvision, which a GPU machine may lack
        import mmpretrain
        importlib.import_module('mmpretrain.utils').register_all_modules(
            False)
        import mmpatch.models.classifier  # noqa: F401
        libs.append(mmpretrain)
        cls = f'mmpretrain {mmpretrain.__version__}'
    except ModuleNotFoundError as exc:
        if strict:
            raise
        cls = 'mmpretrain MISSING'
        print(f'[install] WARNING: mmpretrain does not import ({exc}): '
              'classification configs and tests will fail; detection and '
              'segmentation work. Add the missing wheel to the folder (for '
              'torchvision: the one made for this torch) and install again.')
    ops = get_compiling_cuda_version()
    ops = 'CPU only' if ops == 'not available' else f'CPU + CUDA {ops}'
    print(f'[install] ok: torch {torch.__version__} (CUDA available: '
          f'{torch.cuda.is_available()}), mmengine {mmengine.__version__}, '
          f'mmcv {mmcv.__version__} (ops: {ops}), mmdet {mmdet.__version__}, '
          f'mmseg {mmseg.__version__}, {cls}')
    print('[install] from: ' + ', '.join(
        f'{m.__name__} {os.path.dirname(os.path.dirname(m.__file__))}'
        for m in libs))
    if torch.cuda.is_available() and ops == 'CPU only':
        raise SystemExit('[install] mmcv was built without CUDA ops on a '
                         'machine with a GPU: mmcv.ops fail on CUDA tensors; '
                         'rebuild it with FORCE_CUDA=1 (docs/install.md)')


def main(argv) -> None:
    cmd, args = argv[0], argv[1:]
    if cmd == 'select':
        print('\n'.join(select(args[0])))
    elif cmd == 'find-mmcv':
        print(find_mmcv(args[0]) or '')
    elif cmd == 'missing':
        print('\n'.join(missing(args)))
    elif cmd == 'mmcv-key':
        print(mmcv_key())
    elif cmd == 'wheel-ops':
        print(wheel_ops(args[0]))
    elif cmd == 'check':
        check(strict='--lenient' not in args)
    elif cmd == 'patch-mmpretrain':
        print(patch_mmpretrain())
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])
