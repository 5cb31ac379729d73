"""练一练 / Your turn: type the video's code yourself; the project's own tests check it.

"知之不若行之" — knowing is not as good as doing. Each exercise is a lesson with the lines the
video writes cut out: you write them, as you watch the video, and `--check` runs the same tests
that check the lessons, on your file.

    python src/practice.py              列出练习 / list the exercises
    python src/practice.py 22           写出 practice/22_nn_seq.py（已有的不覆盖 / never overwritten)
    python src/practice.py 22 --reset   重新开始这一题（你的文件会被换掉 / replaces your file)
    python src/practice.py --check      按课程顺序检查你做过的练习 / check your exercises in order
    python src/practice.py --hint 22    一行提示 / one hint line
    python src/practice.py --solution 22  你的文件和课程代码的差别 / diff against the lesson

Each gap says `# 练一练 / Your turn` and what the video does there; until you fill it, running
the file stops there with "练一练 / your turn". Run your file like a lesson:
`python practice/22_nn_seq.py --quick`. The checks use small generated data and run in seconds.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tudui.errors import EXIT_CODE  # noqa: E402
from tudui.infra import practice  # noqa: E402
from tudui.infra.console import printable_chinese  # noqa: E402
from tudui.infra.practice_spec import EXERCISES  # noqa: E402


def _mark(ok: bool) -> str:
    """✓/✗, or OK/X where the console cannot show them (a GBK console on Windows)."""
    symbol = "✓" if ok else "✗"
    try:
        symbol.encode(sys.stdout.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return "OK" if ok else "X "
    return symbol


def _exercise(lesson: str):
    try:
        return practice.exercise(lesson)
    except KeyError:
        known = " ".join(ex.lesson[:2] for ex in EXERCISES)
        print(f"没有第 {lesson} 课的练习 / no exercise for lesson {lesson}; the exercises are: "
              f"{known}", file=sys.stderr)
        raise SystemExit(EXIT_CODE) from None


def list_exercises(folder: Path) -> None:
    print("练一练 / Your turn — python src/practice.py NN 开始 / starts one:")
    for ex in EXERCISES:
        path = practice.practice_file(ex, folder)
        if path.is_file():
            still_open = len(practice.open_blanks(path.read_text(encoding="utf-8")))
            state = (f"practice/{path.name}: {still_open} 处没写 / still open" if still_open
                     else f"practice/{path.name}: 都写了，去 --check / all written, run --check")
        else:
            state = "未开始 / not started"
        print(f"  {ex.lesson[:2]}  {ex.lesson:<22} {ex.part:<8} {len(ex.blanks)} 处 / gaps   "
              f"{state}")


def make(lesson: str, folder: Path, reset: bool) -> None:
    ex = _exercise(lesson)
    path, written = practice.make(ex, folder, reset)
    if not written:
        print(f"{path} 已经有了，保留你的文件 / already exists: your work is kept. "
              f"重新开始 / start over: python src/practice.py {ex.lesson[:2]} --reset")
        return
    print(f"写好了 / written: {path} ({len(ex.blanks)} 处练一练 / gaps to fill, {ex.part})")
    print(f"  运行 / run:   python practice/{path.name} --quick")
    print("  检查 / check: python src/practice.py --check")


def report(results: list, folder: Path) -> int:
    done = sum(r.status == "done" for r in results)
    for r in results:
        ex = r.exercise
        if r.status == "done":
            print(f"{_mark(True)} {ex.lesson[:2]} {ex.lesson}")
        elif r.status == "failed":
            print(f"{_mark(False)} {ex.lesson[:2]} {ex.lesson}")
            gap = re.search(r"练一练 / your turn: (\S+) #(\d+)", r.detail)
            if gap and gap.group(1) != ex.lesson:  # its check runs an earlier exercise
                print(f"  先完成 / finish first: practice/{gap.group(1)}.py (这一题的检查也要运行它 "
                      "/ this exercise's check runs it too)")
            elif gap:
                number = int(gap.group(2))
                line = dict(r.open_blanks).get(number, "?")
                print(f"  练一练 #{number} 还没写 / gap #{number} is still to write: "
                      f"practice/{ex.lesson}.py line {line}")
            else:
                zh, en = r.check
                print(f"  {zh} / {en}")
                print(f"  得到 / got: {r.detail}")
            print(f"  提示 / hint: python src/practice.py --hint {ex.lesson[:2]}   答案 / "
                  f"answer: python src/practice.py --solution {ex.lesson[:2]}")
    started = [r for r in results if r.status != "not started"]
    print(f"{done}/{len(results)} done")
    if not started:
        print("还没有练习 / no exercise started yet: python src/practice.py 16 (或别的编号 / or "
              "another number; python src/practice.py lists them)")
    return 0 if all(r.status == "done" for r in started) else 1


def main(argv=None) -> int:
    for stream in (sys.stdout, sys.stderr):
        printable_chinese(stream)
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lesson", nargs="?", help="make the exercise of this lesson, e.g. 22")
    parser.add_argument("--reset", action="store_true",
                        help="replace an existing practice file with a fresh exercise")
    parser.add_argument("--check", nargs="*", metavar="NN",
                        help="check your exercises (all, or these) in course order")
    parser.add_argument("--keep-going", action="store_true",
                        help="with --check: check every exercise, not stop at the first failing")
    parser.add_argument("--hint", metavar="NN", help="one hint for this exercise")
    parser.add_argument("--solution", metavar="NN", help="diff of your file against the lesson")
    parser.add_argument("--dir", type=Path, default=practice.PRACTICE_DIR,
                        help=argparse.SUPPRESS)  # tests: another practice folder
    args = parser.parse_args(argv)
    folder = args.dir.resolve()
    if args.check is not None:
        chosen = [_exercise(n) for n in args.check] if args.check else None
        return report(practice.check(chosen, folder, args.keep_going), folder)
    if args.hint:
        print(practice.hint(_exercise(args.hint), folder))
    elif args.solution:
        ex = _exercise(args.solution)
        if not practice.practice_file(ex, folder).is_file():
            print(f"还没有 practice/{ex.lesson}.py / not made yet: python src/practice.py "
                  f"{ex.lesson[:2]}", file=sys.stderr)
            return EXIT_CODE
        print(practice.solution_diff(ex, folder) or "和课程代码一样 / the same as the lesson")
    elif args.lesson:
        make(args.lesson, folder, args.reset)
    else:
        list_exercises(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
