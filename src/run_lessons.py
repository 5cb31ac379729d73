"""课程导览 / The lesson tour behind `make lessons`.

Runs every lesson src/NN_*.py in course order (00 first), each in a process of its own, with
--quick unless --full is given, then prints a summary table: lesson, status, seconds, what it wrote
under logs/. A failing lesson does not stop the others, but the tour then exits 1. A lesson that
cannot run here (it needs a GPU) exits 3 and is reported as skipped.

On Linux a helper process imports torch and torchvision once and each lesson starts as a forked
copy of it (tudui.infra.lesson_runs): the lessons skip 3-4 s of imports each, about 100 s of a
tour. Elsewhere, or with --fresh, each lesson gets a new Python interpreter, as when you run it
yourself.

00_prepare_data's output is shown as it runs (indented), so a slow download's progress lines
are seen while it lasts; every other lesson's output goes only to its transcript. If
00_prepare_data cannot download the data (no network), the tour runs it again with --synthetic so
every later lesson still has stand-in data to work on.

A lesson that runs past --lesson-timeout is stopped as Ctrl-C would stop it and shown as "timed
out"; the tour goes on. With --quick the limit is 10 minutes: the slowest quick lesson takes
seconds, so only a lesson that hangs (or a machine far too busy) reaches it. With --full there is
no limit: at the course's settings lessons run from seconds to over an hour on a laptop CPU (35's
ablation ladder), and any fixed limit would stop real work. 00_prepare_data never has one: how
long a download takes depends on the network (its downloads give up by themselves when stalled).

Run:  python src/run_lessons.py [--full] [--only 2 27 32] [--device cpu] [--fresh]
                                [--lesson-timeout SECONDS]
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tudui.cli import absolute_path
from tudui.errors import (
    EXIT_CODE,
    INTERRUPTED,
    INTERRUPTED_EXIT_CODE,
    SKIP_EXIT_CODE,
    friendly_errors,
)
from tudui.infra import lesson_runs
from tudui.infra.commands import shell_quote
from tudui.infra.files import atomic_write_bytes
from tudui.paths import LOGS_DIR, REPO_ROOT, lesson_files, lesson_log_dir  # noqa: E402

PREPARE = "00_prepare_data"
QUICK_TIMEOUT_S = 600  # per lesson with --quick (see the docstring); --full: no limit
TIMED_OUT = "timed out"


class Indented:
    """A text stream that writes to sys.stdout with every line indented (a lesson's output
    shown inside the tour's)."""

    def __init__(self, prefix: str = "    "):
        self.prefix, self.at_line_start = prefix, True

    def write(self, text: str) -> int:
        lines = text.splitlines(keepends=True)
        shown = "".join((self.prefix if (self.at_line_start or i) and line.strip("\r\n") else "")
                        + line for i, line in enumerate(lines))
        if lines:
            self.at_line_start = lines[-1].endswith(("\n", "\r"))
        sys.stdout.write(shown)
        return len(text)

    def flush(self) -> None:
        sys.stdout.flush()


def run_one(path: Path, extra: list[str], transcript_dir: Path, forked: bool = False,
            timeout: float | None = None, live=None) -> tuple[int | None, float, str]:
    """Run one lesson in a process of its own (``forked``: a forked copy of a process that has
    imported torch, else a new interpreter); return (exit code, seconds, output), the exit
    code None when the lesson ran past ``timeout`` seconds and was stopped. ``live``: a stream
    that also gets the output while the lesson runs."""
    start = time.perf_counter()
    run = lesson_runs.run_script_forked if forked else lesson_runs.run_script
    try:
        code, output = run(path, extra, REPO_ROOT, lesson_runs.LESSON_ENV, timeout, live)
    except lesson_runs.LessonTimedOut as stopped:
        code, output = None, stopped.output
    seconds = time.perf_counter() - start
    # replaced whole, never written through a link (lesson_log_dir refuses those anyway)
    atomic_write_bytes(transcript_dir / f"{path.stem}.txt", output.encode("utf-8"))
    return code, seconds, output


def written_under(log_dir: Path, lesson: str, since: float) -> str:
    """A short description of the files a lesson wrote under logs/<lesson>/ since ``since``."""
    folder = log_dir / lesson
    if not folder.is_dir():
        return "-"
    counts: dict[str, int] = {}
    for file in folder.rglob("*"):
        if file.is_file() and file.stat().st_mtime >= since - 1:
            kind = "events" if file.name.startswith("events.out.tfevents") else (file.suffix or "file")
            counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "-"


def tour(lessons: list[Path], common: list[str], extra: list[str], log_dir: Path,
         transcript_dir: Path, rows: list, forked: bool = False,
         timeout: float | None = None) -> None:
    """Run each lesson, print its line, and append (lesson, status, seconds, wrote) to rows;
    ``timeout``: seconds per lesson (never for 00_prepare_data), None for no limit."""
    for path in lessons:
        since = time.time()
        lesson_extra = common if path.stem == PREPARE else extra
        limit = None if path.stem == PREPARE else timeout
        live = Indented() if path.stem == PREPARE else None  # a download: its progress, now
        if live:
            print(f"  {path.stem}: 运行中，输出如下 / running, its output as it comes:", flush=True)
        try:
            code, seconds, output = run_one(path, lesson_extra, transcript_dir, forked, limit,
                                            live)
        except lesson_runs.ForkFailed as err:
            print(f"  (cannot fork lessons here: {err}; from now on each starts a new Python)")
            forked = False
            code, seconds, output = run_one(path, lesson_extra, transcript_dir, forked, limit,
                                            live)
        if code is None:
            status = TIMED_OUT
        elif code in (INTERRUPTED_EXIT_CODE, -signal.SIGINT):  # Ctrl-C reached the lesson first
            raise KeyboardInterrupt
        else:
            status = "OK" if code == 0 else "skipped" if code == SKIP_EXIT_CODE else "FAILED"
        if path.stem == PREPARE and code == EXIT_CODE:
            print("  00_prepare_data: download failed, using generated stand-ins (--synthetic)")
            code, more, output = run_one(path, [*common, "--synthetic"], transcript_dir, forked,
                                         None, live)
            seconds += more
            status = "OK (stand-ins)" if code == 0 else "FAILED"
        rows.append((path.stem, status, seconds, written_under(log_dir, path.stem, since)))
        print(f"  {path.stem:<24} {status:<15} {seconds:6.1f}s")
        if status == TIMED_OUT:
            print(f"    超过 {limit:g} 秒仍未结束，已停止 / still running after {limit:g} s, stopped "
                  f"(--lesson-timeout); its last lines, all of them in "
                  f"{transcript_dir / path.stem}.txt:")
        if status in ("FAILED", TIMED_OUT) and not live:  # a live one showed it all already
            tail = "\n".join(output.strip().splitlines()[-12:])
            print("    " + tail.replace("\n", "\n    "))


def seconds_or_zero(text: str) -> float:
    """--lesson-timeout: seconds, 0 for no limit."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(
            f"{text!r} 必须是秒数，0 表示不限时 / must be a number of seconds, 0 for no limit")
    return value


@friendly_errors
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the course's own settings (slow)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only lessons whose number or name starts with these")
    parser.add_argument("--device", default=None, help="passed on to every lesson")
    # the lessons run with the repository as their folder: relative paths are read from ours
    parser.add_argument("--data-root", type=absolute_path, default=None,
                        help="passed on to every lesson")
    parser.add_argument("--log-dir", type=absolute_path, default=str(LOGS_DIR),
                        help="passed on to every lesson")
    parser.add_argument("--fresh", action="store_true",
                        help="a new Python interpreter per lesson, also on Linux (slower)")
    parser.add_argument("--lesson-timeout", type=seconds_or_zero, default=None,
                        help=f"stop a lesson after this many seconds, 0 for no limit (default: "
                             f"{QUICK_TIMEOUT_S} with --quick, none with --full; never for "
                             f"{PREPARE})")
    args = parser.parse_args(argv)
    log_dir = Path(args.log_dir)
    timeout = args.lesson_timeout if args.lesson_timeout is not None else \
        (0 if args.full else QUICK_TIMEOUT_S)

    lessons = lesson_files()
    if args.only:
        lessons = [p for p in lessons if any(p.stem.startswith(o.zfill(2)) or p.stem.startswith(o)
                                             for o in args.only)]
    common = ["--log-dir", str(log_dir)]
    if args.data_root:
        common += ["--data-root", args.data_root]
    extra = common + ([] if args.full else ["--quick"])
    if args.device:
        extra += ["--device", args.device]
    # a read-only place, a file, or links leading out of it: one paragraph, exit 2
    transcript_dir = lesson_log_dir("_tour", log_dir)

    mode = "full course settings" if args.full else "--quick"
    print(f"课程导览 / lesson tour: {len(lessons)} lessons, {mode}; "
          f"each lesson's output goes to {transcript_dir}/<lesson>.txt")
    rows, tour_start, own_server = [], time.perf_counter(), False
    try:
        forked = not args.fresh and lesson_runs.fork_available()
        if forked:
            lesson_runs.preload()
            try:
                own_server = lesson_runs.start_server()  # now: its imports overlap our start
            except lesson_runs.ForkFailed as err:
                print(f"  (cannot fork lessons here: {err}; each lesson starts a new Python)")
                forked = False
        print("每课一个进程 / each lesson in a process of its own: " +
              ("forked from one that imported torch once (Linux)\n" if forked else
               "a new Python interpreter\n"))
        tour(lessons, common, extra, log_dir, transcript_dir, rows, forked, timeout or None)
    except KeyboardInterrupt:  # the running lesson got the Ctrl-C too and stopped cleanly
        if own_server:  # still importing torch, perhaps: no reason to finish
            lesson_runs.stop_server()
        print("\n" + INTERRUPTED, file=sys.stderr)
        return INTERRUPTED_EXIT_CODE
    total = time.perf_counter() - tour_start

    width = max(len(r[0]) for r in rows) if rows else 10
    print(f"\n{'lesson':<{width}}  {'status':<15} {'seconds':>8}  wrote under logs/<lesson>/")
    print("-" * (width + 60))
    for lesson, status, seconds, wrote in rows:
        print(f"{lesson:<{width}}  {status:<15} {seconds:8.1f}  {wrote}")
    failed = [r[0] for r in rows if r[1] == "FAILED"]
    timed_out = [r[0] for r in rows if r[1] == TIMED_OUT]
    print(f"\n{len(rows) - len(failed) - len(timed_out)}/{len(rows)} lessons ran without failing "
          f"in {total:.0f}s." + (f" Failed: {', '.join(failed)}." if failed else "")
          + (f" Timed out: {', '.join(timed_out)}." if timed_out else ""))
    print("打开 TensorBoard / open TensorBoard:  make tensorboard   "
          f"(or: tensorboard --logdir {shell_quote(str(log_dir))} --host 127.0.0.1 "
          "--samples_per_plugin images=0)")
    return 1 if failed or timed_out else 0


if __name__ == "__main__":
    sys.exit(main())
