"""The orchestrator of tools/device_check.sh: install, CUDA tests, memory
benchmarks and a short training on a CUDA machine, within a time budget.

Steps run in order, each with a share of the budget (``STEPS``); time a step
leaves unused is carried to the next, an overrun is taken from them. Before
a step starts its duration is estimated (the last GPU run's measured time
kept in ``docs/gpu/``, else ``STEPS``' guess, times the slowdown of the
steps run so far, if any): a step whose estimate exceeds what is left of
its share or of the budget is **skipped with a line saying so**. A started
step is stopped only by a safety net (twice its allowance, or the end of
the budget) and marked ``timed out``. ``--out`` (``$OUT`` when set) gets
``device_check.json`` (machine, versions, steps, benchmark records, test
outcomes; rewritten after every step) and ``device_check.log`` (every
step's output, each under 2 MiB). Exit status: 0 when no step failed or
timed out (skips allowed), 1 otherwise, 2 on bad arguments. ``--dry-run``
replaces every step by a fast fake that writes outputs of the real shape
(tests/test_tools/test_device_check.py).
"""
import argparse
import datetime
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import tempfile
import time

# sibling modules: Python puts this script's folder first on sys.path
from device_steps import CONFIGS, STEPS, collect, fake_step, step_commands
from gpu_report import latest_run

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

RESERVE = 15  # s kept for the machine report and writing the results
LOG_CAP = 2 * 2**20  # bytes of one step's output kept in the log


def machine_report(a, env):
    """Date, GPU, driver, CUDA and the stack's versions, from the installed
    environment (tools/analysis_tools/machine_info.py)."""
    try:
        res = subprocess.run(
            [a.python, 'tools/analysis_tools/machine_info.py'], env=env,
            cwd=REPO, capture_output=True, text=True, timeout=60)
        return json.loads(res.stdout.strip().splitlines()[-1])
    except Exception as exc:  # noqa: BLE001 - the report says what failed
        return dict(date=datetime.datetime.now(
            datetime.timezone.utc).isoformat(timespec='seconds'),
                    error=f'{type(exc).__name__}: {exc}')


def run_command(cmd, env, cap, out_file):
    """Run ``cmd`` in its own process group, output to ``out_file``; kill
    the group after ``cap`` s. Returns (returncode, timed_out)."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out_file,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return proc.wait(timeout=max(1, cap)), False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None, True


def read_capped(path):
    data = open(path, 'rb').read()
    if len(data) > LOG_CAP:
        head, tail = LOG_CAP // 8, LOG_CAP - LOG_CAP // 8
        data = (data[:head] + f'\n[... {len(data) - LOG_CAP} bytes cut ...]'
                f'\n'.encode() + data[-tail:])
    return data.decode(errors='replace')


def priors(json_dir):
    """Measured durations of the last real run kept in ``json_dir``."""
    run = latest_run(json_dir)
    return {s['name']: s['seconds'] for s in (run or {}).get('steps', [])
            if s.get('status') == 'ok' and s.get('seconds')}


def main(argv=None) -> int:
    a = parse_args(argv)
    if a.fake_step:
        return fake_step(a)
    os.makedirs(a.out, exist_ok=True)
    log_path = osp.join(a.out, 'device_check.log')
    log_file = open(log_path, 'w')

    def say(line):
        print(f'[device-check] {line}', flush=True)
        log_file.write(f'[device-check] {line}\n')
        log_file.flush()

    if not a.dry_run and not osp.isdir(a.wheels or ''):
        say(f'no wheel folder: --wheels {a.wheels!r} (see --help)')
        return 2
    t0 = time.monotonic()
    env = dict(os.environ, TARGET=osp.join(a.work, 'site'),
               PYTHON=a.python, MMPATCH_CACHE=osp.join(a.work, 'cache'),
               PYTHONPATH=os.pathsep.join([osp.join(a.work, 'site'), REPO]),
               PYTHONWARNINGS='ignore:pkg_resources is deprecated')
    if a.wheels:
        env['WHEELS'] = osp.abspath(a.wheels)
    prior = dict((n, e) for n, _, e, _ in STEPS)
    prior.update(priors(osp.join(REPO, 'docs', 'gpu')))
    prior.update({k: float(v) for k, v in (e.split('=') for e in a.estimate)})
    say(f'budget {a.budget:.0f} s, work folder {a.work}, output {a.out}'
        f'{", DRY RUN (fake steps)" if a.dry_run else ""}')
    result = dict(schema=1, dry_run=a.dry_run, budget_s=a.budget,
                  configs=CONFIGS, steps=[], benchmarks={})
    bank = ran_est = ran_used = 0.0
    failed = None
    for name, share, _, optional in STEPS:
        if (a.only and name not in a.only) or name in a.skip:
            continue
        # only ever slower: a fast install says nothing of the GPU steps
        pace = min(3.0, max(1.0, ran_used / ran_est)) if ran_est else 1.0
        est = prior[name] * pace
        allowance = share + bank
        left = a.budget - RESERVE - (time.monotonic() - t0)
        rec = dict(name=name, share_s=share, estimate_s=round(est, 1),
                   optional=optional)
        result['steps'].append(rec)
        if failed:
            rec.update(status='skipped', reason=f'{failed} failed')
        elif est > min(allowance, left):
            rec.update(status='skipped', reason=(
                f'estimated {est:.0f} s > {min(allowance, left):.0f} s left'
                f' of its share ({share} s, {bank:+.0f} s carried; '
                f'{left:.0f} s of the budget)'))
        if 'status' in rec:
            say(f'skip {name}: {rec["reason"]}')
            bank += share
            continue
        cap = min(left, 2 * allowance)
        say(f'start {name} (estimate {est:.0f} s, share {share} s, '
            f'{bank:+.0f} s carried, stopped after {cap:.0f} s)')
        start = time.monotonic()
        out_path = osp.join(a.work, f'{name}.out')
        code, timed_out = 0, False
        with open(out_path, 'w') as out_file:
            for cmd in step_commands(name, a, osp.abspath(__file__)):
                out_file.write(f'$ {" ".join(cmd)}\n')
                out_file.flush()
                code, timed_out = run_command(
                    cmd, env, cap - (time.monotonic() - start), out_file)
                if code or timed_out:
                    break
        used = time.monotonic() - start
        log_file.write(read_capped(out_path))
        status = 'timed out' if timed_out else 'ok' if code == 0 else 'failed'
        rec.update(status=status, seconds=round(used, 1), returncode=code)
        got = collect(name, a.work)
        if name.startswith('bench_') and got is not None:
            result['benchmarks'][name[6:]] = got
            if status == 'ok' and not any(r.get('status') == 'ok'
                                          for r in got):
                status = 'failed'  # benchmark_memory exits 0 regardless
                rec.update(status=status, reason='no record ok: ' + '; '.join(
                    sorted({str(r.get('status'))[:80] for r in got})))
        elif got is not None:
            rec['result'] = got
        say(f'{status} {name} in {used:.0f} s' + (
            f' (exit {code})' if status == 'failed' else ''))
        bank += share - used
        ran_est, ran_used = ran_est + prior[name], ran_used + used
        if name == 'install' and status != 'ok':
            failed = 'install'
        write(result, a.out, t0)  # a run stopped from outside keeps these
    result['machine'] = machine_report(a, env)
    result['date'] = result['machine']['date']
    write(result, a.out, t0)
    bad = [s['name'] for s in result['steps']
           if s['status'] in ('failed', 'timed out')]
    say(f'done in {result["total_s"]:.0f} s: ' + ', '.join(
        f'{s["name"]} {s["status"]}' for s in result['steps']))
    log_file.close()
    return 1 if bad else 0


def write(result, out, t0):
    result['total_s'] = round(time.monotonic() - t0, 1)
    with open(osp.join(out, '.device_check.json'), 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(osp.join(out, '.device_check.json'),
               osp.join(out, 'device_check.json'))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog='tools/device_check.sh',
        description=__doc__.split('\n\n')[0],
        epilog='Steps (share of the budget, prior estimate): ' + '; '.join(
            f'{n} ({s} s, {e} s{", optional" if o else ""})'
            for n, s, e, o in STEPS) + '. Configs: ' + ', '.join(
            CONFIGS.values()) + '. See docs/install.md.')
    p.add_argument('--wheels', default=os.environ.get('WHEELS', '.wheels'),
                   help='wheel folder for tools/install.sh (default: '
                   '$WHEELS or .wheels; a copy of ../shared/device)')
    p.add_argument('--out', default=os.environ.get(
        'OUT', osp.join(REPO, 'work_dirs', 'device_check')),
                   help='output folder (default: $OUT, else '
                   'work_dirs/device_check)')
    p.add_argument('--budget', type=float, default=450,
                   help='seconds for the whole check (default 450)')
    p.add_argument('--python', default=sys.executable,
                   help="the machine's interpreter, which has torch "
                   '(default: the one running this)')
    p.add_argument('--work', default=None, help='scratch folder')
    p.add_argument('--only', nargs='+', default=[], help='run these steps')
    p.add_argument('--skip', nargs='+', default=[], help='skip these steps')
    p.add_argument('--estimate', nargs='+', default=[],
                   help='override prior estimates: STEP=SECONDS')
    p.add_argument('--dry-run', action='store_true',
                   help='fake every step (a CPU test of the orchestration)')
    p.add_argument('--fake-sleep', nargs='*', default=[],
                   help='dry run: STEP=SECONDS a fake step takes')
    p.add_argument('--fake-fail', nargs='*', default=[],
                   help='dry run: these fake steps fail')
    p.add_argument('--fake-step', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.work = a.work or tempfile.mkdtemp(prefix='mmpatch_device_check_')
    os.makedirs(a.work, exist_ok=True)
    return a


if __name__ == '__main__':
    sys.exit(main())
