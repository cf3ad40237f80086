"""The parent's side of a measurement: one fresh subprocess per (method,
size), under a memory limit, and the classification of how it ended."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

from .failures import classify_exit

#: the command-line tool whose hidden ``--one`` mode measures one spec
CLI = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
               'benchmark_memory.py')
#: the repository: the subprocesses run there (configs are relative to it)
REPO = osp.dirname(osp.dirname(osp.dirname(CLI)))


def write_json(path: str, obj: Any) -> None:
    """Write ``obj`` atomically (a reader never sees half a file)."""
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def _limit_preexec(limit: Optional[int]):
    if not limit:
        return None

    def preexec() -> None:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return preexec


def run_child(spec: dict, memory_limit: Optional[int], device: str,
              timeout: Optional[float] = None,
              log_path: Optional[str] = None,
              argv: Optional[List[str]] = None,
              cli: str = CLI) -> Dict[str, Any]:
    """Run one measurement in a fresh subprocess and classify its end.

    Args:
        spec: what ``--one`` measures (its ``out`` is set here).
        memory_limit: bytes; ``RLIMIT_AS`` of the subprocess on CPU.
        device: ``'cpu'`` or ``'cuda'``.
        timeout: seconds, or None.
        log_path: where to keep the subprocess's output (else a temp file).
        argv: the command to run instead of the tool's ``--one`` (tests).
        cli: the script whose ``--one SPEC`` mode measures (default
            ``benchmark_memory.py``).

    Returns:
        dict: the subprocess's report with ``status`` and ``detail``.
    """
    with tempfile.TemporaryDirectory(prefix='mmpatch_bench_') as tmp:
        spec = dict(spec, out=osp.join(tmp, 'result.json'))
        cmd = argv or [sys.executable, cli, '--one', json.dumps(spec)]
        log = log_path or osp.join(tmp, 'log.txt')
        env = dict(os.environ)
        env.setdefault('PYTHONWARNINGS', 'ignore:pkg_resources is deprecated')
        cpu_limit = memory_limit if device == 'cpu' else None
        timed_out = False
        t0 = time.perf_counter()
        with open(log, 'w') as log_file:
            proc = subprocess.Popen(
                cmd,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
                preexec_fn=_limit_preexec(cpu_limit),
                start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        wall = time.perf_counter() - t0
        result = None
        if osp.isfile(spec['out']):
            try:
                with open(spec['out']) as f:
                    result = json.load(f)
            except ValueError:
                result = None
        with open(log, errors='replace') as f:
            tail = f.read()[-6000:]
        out = classify_exit(proc.returncode, result, tail, timed_out)
        out['wall_s'] = round(wall, 2)
        if out.get('status') != 'ok':
            out['log_tail'] = tail
        return out
