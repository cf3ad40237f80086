"""mmpatch: PatchGD with a global patch for mmdet, mmseg and mmpretrain."""
import os
import os.path as osp
import shutil
import sys
import warnings

from setuptools import find_packages, setup


def readme() -> str:
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    scope: dict = {}
    with open(osp.join('mmpatch', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'mmpatch/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    reqs = []
    with open(fname, encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Expose tools/ and configs/ as ``mmpatch/.mim`` (as mmdet does).

    An editable install (``develop``) links them; a normal install copies
    them, so ``mim`` and ``mmpatch::`` config paths resolve either way.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        return
    mim_path = osp.join(osp.dirname(__file__), 'mmpatch', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ('tools', 'configs'):
        src = osp.join(osp.dirname(__file__), name)
        dst = osp.join(mim_path, name)
        if osp.isfile(dst) or osp.islink(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, mim_path), dst)
                continue
            except OSError:
                warnings.warn(f'cannot link {src}; copying it instead')
        shutil.copytree(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmpatch',
        version=get_version(),
        description='PatchGD training with a global patch for ultra-high-'
        'resolution classification, detection and segmentation (OpenMMLab)',
        long_description=readme(),
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
        include_package_data=True,
        package_data={'mmpatch': ['.mim/configs/**/*', '.mim/tools/**/*']},
        python_requires='>=3.9',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={'tests': parse_requirements('requirements/tests.txt')},
        zip_safe=False)
