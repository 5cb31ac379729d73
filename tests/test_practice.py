"""练一练 / Your turn: exercises made from the lessons (src/practice.py), checked by the lessons'
own tests. Blank, each exercise fails with its placeholder; filled back with the lesson's own code,
it passes; filled with a plausible wrong answer, the check catches it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tudui.infra import practice
from tudui.infra.practice_spec import EXERCISES
from tudui.paths import REPO_ROOT, SRC_DIR, lesson_files

PRACTICE = SRC_DIR / "practice.py"

# One plausible mistake per family of exercise: (the lesson's text, what a learner might write).
# A forgotten zero_grad (24, and 27 alike), data left off the GPU while the model is on it (30).
WRONG = {
    "12_useful_transforms": ("transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])",
                             "transforms.Normalize([0.5, 0.5, 0.5], [1, 1, 1])"),
    "15_dataloader": ("drop_last=args.drop_last", "drop_last=False"),
    "16_nn_module": ("output = input + 1", "output = input"),
    "18_nn_conv2d": ("out_channels=6", "out_channels=3"),
    "21_nn_linear": ("output = torch.flatten(imgs.to(device))", "output = imgs.to(device)"),
    "22_nn_seq": ("Conv2d(3, 32, 5, padding=2)", "Conv2d(3, 32, 5)"),
    "24_nn_optim": ("optim.zero_grad()\n", "\n"),
    "30_train_gpu": ("imgs = imgs.cuda()\n                    targets = targets.cuda()\n", ""),
}


def filled(ex, folder, wrong: tuple[str, str] | None = None) -> str:
    """The exercise of ``ex`` with every gap filled with the lesson's own lines (then, when
    ``wrong`` is given, its first text replaced by the second)."""
    text = practice.exercise_text(ex, folder)
    for number, code in practice.answers(ex).items():
        text = practice.fill(text, ex, number, code)
    if wrong is not None:  # in the code, not in the docstring that describes it
        right, mistake = wrong
        docstring, code = text.split("from __future__ import annotations\n", 1)
        assert right in code, (ex.lesson, right)
        text = docstring + "from __future__ import annotations\n" + code.replace(right, mistake, 1)
    return text


def check(folder, **options) -> dict[str, practice.Result]:
    """``practice.check`` on every exercise in ``folder``, in this process: {lesson: result}."""
    results = practice.check(None, folder, basetemp=folder.parent / "check-tmp", **options)
    return {r.exercise.lesson: r for r in results}


def test_every_exercise_is_made_from_its_lesson_by_the_table(tmp_path):
    for ex in EXERCISES:
        source = (SRC_DIR / f"{ex.lesson}.py").read_text(encoding="utf-8")
        text = practice.exercise_text(ex, tmp_path)
        compile(text, ex.lesson, "exec")  # still a valid Python file
        assert "练一练" not in source  # the lesson files carry no markers
        gaps = practice.open_blanks(text)
        assert [number for number, _ in gaps] == list(range(1, len(ex.blanks) + 1))
        for number, code in practice.answers(ex).items():
            # the video's lines are really gone, each gap says what to do in both languages
            assert code not in text, (ex.lesson, code)
            assert f"# 练一练 {number}/{len(ex.blanks)} ({ex.part})" in text
            assert f"# Your turn {number}/{len(ex.blanks)}: " in text
        assert filled(ex, tmp_path) == practice.lesson_text(ex, tmp_path)


def test_the_course_lessons_with_video_code_have_exercises():
    have = {ex.lesson for ex in EXERCISES}
    lessons = {path.stem for path in lesson_files()}
    assert have <= lessons
    assert {"06_read_data", "08_tensorboard", "14_dataset_transform", "15_dataloader",
            "16_nn_module", "18_nn_conv2d", "19_nn_maxpool", "20_nn_relu", "21_nn_linear",
            "22_nn_seq", "23_nn_loss", "24_nn_optim", "26_model_save", "26_model_load",
            "27_train", "30_train_gpu", "32_test"} <= have
    assert [ex.lesson for ex in EXERCISES] == [p.stem for p in lesson_files() if p.stem in have]


def test_make_never_overwrites_the_learners_file_without_reset(tmp_path, capsys):
    ex = practice.exercise("16")
    path, written = practice.make(ex, tmp_path)
    assert written and path == tmp_path / "16_nn_module.py"
    path.write_text("my own work\n", encoding="utf-8")
    assert practice.make(ex, tmp_path) == (path, False)
    assert path.read_text(encoding="utf-8") == "my own work\n"
    assert practice.make(ex, tmp_path, reset=True) == (path, True)
    assert path.read_text(encoding="utf-8") == practice.exercise_text(ex, tmp_path)


def test_hint_follows_the_first_open_gap_and_solution_is_the_diff(tmp_path):
    ex = practice.exercise("22_nn_seq")
    assert practice.hint(ex, tmp_path).startswith("提示 / hint 22_nn_seq #1 (P22): ")
    path, _ = practice.make(ex, tmp_path)
    text = practice.fill(path.read_text(encoding="utf-8"), ex, 1, practice.answers(ex)[1])
    path.write_text(text, encoding="utf-8")
    assert practice.hint(ex, tmp_path) == f"提示 / hint 22_nn_seq #2 (P22): {ex.blanks[1].hint}"
    diff = practice.solution_diff(ex, tmp_path)
    assert "+    input = torch.ones((64, 3, 32, 32), device=device)" in diff
    assert "-    raise NotImplementedError" in diff and "self.model1" not in diff


def test_running_a_gap_says_so_in_one_line(tmp_path):
    ex = practice.exercise("17")
    path, _ = practice.make(ex, tmp_path)
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          encoding="utf-8", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"练一练 / your turn: 17_conv #1: 这里还没写 / still to write here: {path} line" in \
        proc.stderr
    assert "python src/practice.py --hint 17" in proc.stderr


def test_blank_exercises_fail_with_their_placeholder(tmp_path):
    folder = tmp_path / "practice"
    for ex in EXERCISES:
        practice.make(ex, folder)
    results = check(folder, keep_going=True)
    order = [ex.lesson for ex in EXERCISES]
    for ex in EXERCISES:
        result = results[ex.lesson]
        assert result.status == "failed", ex.lesson
        assert [n for n, _ in result.open_blanks] == list(range(1, len(ex.blanks) + 1))
        # its own first gap, or an earlier exercise's that its check runs (32 runs 27)
        named = re.fullmatch(r".*练一练 / your turn: (\S+) #1", result.detail)
        assert named and order.index(named.group(1)) <= order.index(ex.lesson), result.detail


# Filled back, an exercise is the lesson byte for byte (test_every_exercise_is_made_from_its_
# lesson_by_the_table) and its checks are the lesson's own tests, which this suite runs on src/.
# These few re-run whole training runs (27, and 32 and 26 through the runs they load), so the
# check below leaves them out to keep `make test` short; `python src/practice.py --check` runs
# them for a learner as for any other exercise.
TRAINING_CHECKS = {"26_model_save", "26_model_load", "27_train", "32_test"}


def test_filled_with_the_lessons_own_code_every_exercise_passes(tmp_path):
    folder = tmp_path / "practice"
    folder.mkdir()
    checked = [ex for ex in EXERCISES if ex.lesson not in TRAINING_CHECKS]
    for ex in checked:
        practice.practice_file(ex, folder).write_text(filled(ex, folder), encoding="utf-8")
    results = check(folder, keep_going=True)
    assert {lesson: r.status for lesson, r in results.items() if r.status != "not started"} \
        == {ex.lesson: "done" for ex in checked}, {r.detail for r in results.values()}


def test_a_wrong_answer_is_caught(tmp_path):
    folder = tmp_path / "practice"
    folder.mkdir()
    for lesson, wrong in WRONG.items():
        ex = practice.exercise(lesson)
        practice.practice_file(ex, folder).write_text(filled(ex, folder, wrong),
                                                      encoding="utf-8")
    results = check(folder, keep_going=True)
    for lesson in WRONG:
        result = results[lesson]
        assert result.status == "failed" and not result.open_blanks, lesson
        assert result.check in [(zh, en) for _, zh, en in practice.exercise(lesson).checks]
        assert result.detail and "练一练" not in result.detail, (lesson, result.detail)
    assert {r.status for lesson, r in results.items() if lesson not in WRONG} == {"not started"}


def test_check_stops_at_the_first_failing_exercise(tmp_path):
    folder = tmp_path / "practice"
    ex16, ex17 = practice.exercise("16"), practice.exercise("17")
    folder.mkdir()
    practice.practice_file(ex16, folder).write_text(filled(ex16, folder), encoding="utf-8")
    practice.make(ex17, folder)
    practice.make(practice.exercise("18"), folder)
    results = check(folder)
    assert (results["16_nn_module"].status, results["17_conv"].status) == ("done", "failed")
    assert results["18_nn_conv2d"].status == "not checked"  # stopped at 17, as rustlings does
    assert {r.status for lesson, r in results.items()
            if lesson not in ("16_nn_module", "17_conv", "18_nn_conv2d")} == {"not started"}


def test_the_report_names_the_gap_or_the_earlier_exercise_to_finish(capsys):
    sys.path.insert(0, str(SRC_DIR))
    from tudui.paths import import_lesson

    command = import_lesson(PRACTICE, "practice_command")
    ex17, ex32 = practice.exercise("17"), practice.exercise("32")
    results = [practice.Result(ex17, "done"),
               practice.Result(ex32, "failed", ex32.checks[0][1:],
                               "练一练 / your turn: 27_train #4", [(1, 120)])]
    assert command.report(results, Path("practice")) == 1
    out = capsys.readouterr().out
    assert out.startswith("✓ 17 17_conv\n✗ 32 32_test\n  先完成 / finish first: "
                          "practice/27_train.py")
    assert out.rstrip().endswith("1/2 done")
    results[1] = practice.Result(ex32, "failed", ex32.checks[0][1:],
                                 "练一练 / your turn: 32_test #2", [(2, 130)])
    command.report(results, Path("practice"))
    assert "  练一练 #2 还没写 / gap #2 is still to write: practice/32_test.py line 130\n" in \
        capsys.readouterr().out


def test_a_failed_check_is_one_bilingual_sentence_and_what_it_got(capsys):
    sys.path.insert(0, str(SRC_DIR))
    from tudui.paths import import_lesson

    command = import_lesson(PRACTICE, "practice_command")
    ex = practice.exercise("16")
    _, zh, en = ex.checks[0]
    result = practice.Result(ex, "failed", (zh, en), "assert False + where False = equal("
                             "tensor(1.), tensor(2.))")
    assert command.report([result], Path("practice")) == 1
    assert capsys.readouterr().out == (
        "✗ 16 16_nn_module\n"
        "  forward 应该返回 input + 1，tudui(x) 应该得到 tensor(2.) / forward should return "
        "input + 1, so tudui(x) gives tensor(2.)\n"
        "  得到 / got: assert False + where False = equal(tensor(1.), tensor(2.))\n"
        "  提示 / hint: python src/practice.py --hint 16   答案 / answer: python "
        "src/practice.py --solution 16\n0/1 done\n")


@pytest.mark.parametrize("argv", [["99"], ["--hint", "5"], ["--check", "99"]])
def test_an_unknown_exercise_is_a_clear_error(argv, capsys):
    sys.path.insert(0, str(SRC_DIR))
    from tudui.paths import import_lesson

    main = import_lesson(PRACTICE, "practice_command").main
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "no exercise for lesson" in capsys.readouterr().err


def test_makefile_and_gitignore_know_the_practice_folder():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "practice:" in makefile and "check:" in makefile
    assert "practice/" in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8")
