"""Times the README's commands on this machine: every config for a few steps, the fast tier and the full suite.

    python -m experiments.quickstart                           # writes runs/quickstart/
    python -m experiments.quickstart --out=results/quickstart  # the committed tables the README copies

Every config of --configs (default: all but the GPU-sized nerf_gpu.py) runs as a user would run it to try it quickly,
``python -m experiments.run --config=FILE --steps=100 --config.seeds=1
--name=quick_NAME``, in a fresh process (imports and compiles count), with
--out in a temporary folder instead of --name so that no run of the user's is
touched; then the README's test commands run from the repository root,
``python -m pytest -q -m "not slow"`` and ``python -m pytest -q`` (not with
--notests). Writes configs.md (each command and its seconds), tests.md (each
test command, what pytest counted and its minutes) and timings.json (the
rows, the machine and the commit). A command that fails stops the program
with its output.
"""

import pathlib
import re
import subprocess
import sys
import tempfile
import time

from absl import app, flags

import experiments
from experiments.parsing import RUNS
from nerf_toy_jax import rundir

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIGS = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "experiments" / "configs").glob("[!_]*.py")
                 if path.name != "nerf_gpu.py")  # sized for a GPU: minutes a step on a CPU
TESTS = (("the fast tier", ["-m", "not slow"]), ("every test (CI)", []))

flags.DEFINE_list("configs", CONFIGS, "Config files to time, relative to the repository root; default: every "
                  "config but the GPU-sized nerf_gpu.py.")
flags.DEFINE_integer("run_steps", 100, "Training steps of every config (--steps of run.py).")
flags.DEFINE_bool("tests", True, "Also time the fast tier and the full test suite.")
flags.DEFINE_string("out", f"{RUNS}/quickstart", "Output folder (the committed one is results/quickstart).")
FLAGS = flags.FLAGS


def run_command(config, steps, destination):
    """The command a user types to try ``config`` (a path) for ``steps`` steps, as a list of arguments, its
    last one ``--name=quick_NAME`` or, with ``destination`` (a folder), ``--out=DESTINATION/quick_NAME``."""
    name = "quick_" + pathlib.Path(config).stem
    where = f"--name={name}" if destination is None else f"--out={pathlib.Path(destination, name)}"
    return (["python", "-m", "experiments.run"] + ([] if name == "quick_default" else [f"--config={config}"])
            + [f"--steps={steps}", "--config.seeds=1", where])


def timed(args):
    """Runs ``args`` from the repository root; returns (seconds, stdout). Exits 1 with its output if it fails."""
    started = time.perf_counter()
    completed = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"quickstart.py: error: {' '.join(args)} exited {completed.returncode}:\n"
                 f"{completed.stdout[-4000:]}{completed.stderr[-4000:]}")
    return seconds, completed.stdout


def pytest_counts(stdout):
    """What pytest's closing line counted: "174 passed, 134 deselected, 9 warnings in 65.0s" -> all before " in"."""
    return re.sub(r" in [\d.]+s\b.*$", "", stdout.strip().splitlines()[-1])


def configs_markdown(rows, where):
    lines = [f"| command | seconds on {where} |", "|---|---|"]
    lines += [f"| `{row['command']}` | {row['seconds']:.0f} |" for row in rows]
    return "\n".join(lines) + "\n"


def tests_markdown(rows, where):
    lines = [f"| tests | command | counted | minutes on {where} |", "|---|---|---|---|"]
    lines += [f"| {row['tier']} | `{row['command']}` | {row['counted']} | {row['seconds'] / 60:.1f} |"
              for row in rows]
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    missing = [config for config in FLAGS.configs if not (ROOT / config).is_file()]
    if missing:
        experiments.exit_with(sys.argv, f"no such config file under {ROOT}: {', '.join(missing)}")
    if FLAGS.run_steps < 1:
        experiments.exit_with(sys.argv, f"--run_steps must be positive, got {FLAGS.run_steps}")
    experiments.quiet_logs()
    out = pathlib.Path(FLAGS.out)
    environment = rundir.environment()
    where = rundir.hardware(environment)
    configs = []
    with tempfile.TemporaryDirectory() as scratch:
        for config in FLAGS.configs:
            command = " ".join(run_command(config, FLAGS.run_steps, None))
            print(f"{command} ...", flush=True)
            seconds, _ = timed([sys.executable] + run_command(config, FLAGS.run_steps, scratch)[1:])
            configs.append({"config": config, "command": command, "seconds": seconds})
            print(f"  {seconds:.0f} s", flush=True)
    tests = []
    for tier, options in TESTS if FLAGS.tests else ():
        args = ["python", "-m", "pytest", "-q", *options]
        shown = " ".join(f'"{arg}"' if " " in arg else arg for arg in args)
        print(f"{shown} ...", flush=True)
        seconds, stdout = timed([sys.executable] + args[1:])
        tests.append({"tier": tier, "command": shown, "counted": pytest_counts(stdout), "seconds": seconds})
        print(f"  {tests[-1]['counted']} in {seconds / 60:.1f} min", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    rundir.write_json(out / "timings.json", {"command": " ".join(["python -m experiments.quickstart", *sys.argv[1:]]),
                                             "where": where, "environment": environment,
                                             "configs": configs, "tests": tests})
    rundir.write_text(out / "configs.md", configs_markdown(configs, where))
    if tests:
        rundir.write_text(out / "tests.md", tests_markdown(tests, where))
    print(f"\nresults in {out}: {', '.join(sorted(path.name for path in out.iterdir()))}")


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
