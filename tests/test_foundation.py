"""The house the lessons live in: paths, devices, flags, errors, writer, requirements, runner."""

from __future__ import annotations

import errno
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

import tudui
from conftest import load_lesson, read_events
from tudui import cli, device, errors, paths, tb
from tudui.infra import checkpoints, commands, console, files, lesson_runs
from tudui.models import Tudui

REPO = paths.REPO_ROOT


def test_paths_come_from_the_package_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.DATASET_DIR == REPO / "dataset" and paths.LOGS_DIR == REPO / "logs"
    assert (REPO / "src" / "tudui" / "paths.py").is_file()
    assert paths.lesson_name("src/27_train.py") == "27_train"
    assert paths.lesson_log_dir("x", tmp_path / "l") == tmp_path / "l" / "x"


def test_lesson_files_are_in_course_order():
    names = [p.stem for p in paths.lesson_files()]
    assert [n[:2] for n in names] == sorted(n[:2] for n in names) and "01_env_check" in names
    if "26_model_load" in names:
        assert names.index("26_model_save") < names.index("26_model_load")


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = files.atomic_write_bytes(tmp_path / "a" / "b.bin", b"123")
    assert target.read_bytes() == b"123"
    assert [p.name for p in target.parent.iterdir()] == ["b.bin"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = files.atomic_write_bytes(tmp_path / "keep.bin", b"old")

    def boom(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(paths.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.bin"]


def test_device_auto_and_cpu():
    assert device.pick_device("cpu") == torch.device("cpu")
    auto = device.pick_device("auto")
    expected = "cuda" if torch.cuda.is_available() else "mps" if device.mps_available() else "cpu"
    assert auto.type == expected
    assert "device" in device.describe(auto)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(errors.CourseError) as info:
        device.pick_device("cuda")
    assert "--device cpu" in info.value.en
    ok, reason = device.cuda_status()
    assert not ok and reason


def test_unknown_device_is_a_clear_error():
    with pytest.raises(errors.CourseError, match="unknown device"):
        device.pick_device("tpu")


def test_common_flags_are_the_same_everywhere():
    args = cli.lesson_parser("Title\nline2\nrest").parse_args([])
    assert Path(args.data_root) == paths.DATASET_DIR and Path(args.log_dir) == paths.LOGS_DIR
    assert args.device == "auto" and args.seed == 0 and args.quick is False
    args = cli.lesson_parser("t").parse_args(["--quick", "--seed", "3", "--device", "cpu"])
    assert args.quick and args.seed == 3 and args.device == "cpu"


def test_friendly_errors_print_one_paragraph_and_exit_2(capsys):
    @errors.friendly_errors
    def main(argv=None):
        raise errors.CourseError("the data is missing; run this.", "数据不在。")

    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "错误：数据不在。" in err and "Error: the data is missing; run this." in err
    assert "Traceback" not in err

    @errors.friendly_errors
    def skipper(argv=None):
        raise errors.SkipLesson("needs a GPU")

    with pytest.raises(SystemExit) as info:
        skipper([])
    assert info.value.code == errors.SKIP_EXIT_CODE
    capsys.readouterr()

    @errors.friendly_errors
    def interrupted(argv=None):
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as info:
        interrupted([])
    assert info.value.code == errors.INTERRUPTED_EXIT_CODE == 130
    err = capsys.readouterr().err.strip()
    assert err == errors.INTERRUPTED and "已中断" in err and "Interrupted" in err
    assert "--resume" in err and "\n" not in err  # one line


def test_ctrl_c_outside_main_is_the_same_one_line(capsys, monkeypatch):
    # while torch is still being imported, before main(): tudui installs this hook on import
    # (here, in a process where other tests may have replaced sys.excepthook since: again)
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    tudui._show_ctrl_c_as_one_line()
    assert getattr(sys.excepthook, "tudui", False)
    seen = []
    hook = console.interrupted_hook(lambda *exc: seen.append(exc[0]))
    hook(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert capsys.readouterr().err.strip() == errors.INTERRUPTED and seen == []
    hook(ValueError, ValueError("a bug"), None)
    assert seen == [ValueError]  # everything else keeps its traceback


def test_writer_goes_under_logs_lesson_and_replaces_old_runs(tmp_path):
    for value in (1.0, 2.0):  # the same lesson run twice
        writer = tb.make_writer("99_demo", tmp_path)
        writer.add_scalar("y", value, 0)
        writer.close()
    folder = tmp_path / "99_demo"
    assert len(list(folder.glob("events.out.tfevents.*"))) == 1
    assert read_events(folder)["scalars"]["y"] == [(0, 2.0)]


def test_checkpoint_round_trip_and_wrong_architecture(tmp_path):
    model = Tudui()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    path = checkpoints.save_checkpoint(tmp_path / "ck.pth", model, optimizer, epoch=3)
    fresh = Tudui()
    state = checkpoints.load_checkpoint(path, fresh, torch.optim.SGD(fresh.parameters(), lr=0.01))
    assert state["epoch"] == 3
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 fresh.state_dict().values()))
    with pytest.raises(errors.CourseError, match="different architecture"):
        checkpoints.load_checkpoint(path, torch.nn.Linear(3, 2))
    (tmp_path / "bad.pth").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(errors.CourseError, match="truncated"):
        checkpoints.load_checkpoint(tmp_path / "bad.pth", Tudui())
    with pytest.raises(errors.CourseError, match="does not exist"):
        checkpoints.load_checkpoint(tmp_path / "none.pth", Tudui())


def _requirement_names(lines):
    return sorted(re.split(r"[<>=!~ ]", line.strip(), maxsplit=1)[0].lower()
                  for line in lines if line.strip() and not line.strip().startswith("#"))


def test_environment_yml_installs_the_same_list_as_requirements():
    requirements = (REPO / "requirements.txt").read_text().splitlines()
    env = (REPO / "environment.yml").read_text()
    pip_section = env.split("- pip:", 1)[1].splitlines()
    pip_lines = [line.strip()[2:] for line in pip_section if line.strip().startswith("- ")]
    assert [r.strip() for r in requirements if r.strip() and not r.startswith("#")] == pip_lines
    assert "python=3.11" in env
    names = _requirement_names(requirements)
    for needed in ["torch", "torchvision", "tensorboard", "pillow", "opencv-python", "tqdm",
                   "pytest", "ruff"]:
        assert needed in names
    assert not any("==" in r for r in requirements), "lower bounds only, no exact pins"


def test_env_check_reports_versions_and_device(capsys):
    result = load_lesson("01_env_check").main(["--device", "cpu"])
    assert result["versions"]["torch"].startswith(torch.__version__.split("+")[0])
    assert result["device"] == "cpu"
    assert result["cuda_available"] == torch.cuda.is_available() and result["cuda_reason"]
    assert "is_available" in result["help_text"] and "is_available" in result["cuda_tools"]
    assert result["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert result["bf16_native"] == torch.ops.mkldnn._is_mkldnn_bf16_supported()
    out = capsys.readouterr().out
    assert "torch.cuda.is_available() =" in out and f"CPU: {result['cpu_capability']}" in out


@pytest.mark.parametrize("flags, how", [
    ([], "forked from one that imported torch" if lesson_runs.fork_available() else "a new Python"),
    (["--fresh"], "a new Python interpreter")])
def test_runner_runs_a_lesson_and_prints_the_summary(tmp_path, flags, how, capsys):
    # in-process: this test's interpreter has torch loaded already, as the tour's would
    code = load_lesson("run_lessons").main(["--only", "01", "--log-dir", str(tmp_path), *flags])
    out = capsys.readouterr().out
    assert code == 0, out
    assert how in out
    assert re.search(r"01_env_check\s+OK", out)
    assert "make tensorboard" in out
    transcript = (tmp_path / "_tour" / "01_env_check.txt").read_text()
    assert f"torch: {torch.__version__.split('+')[0]}" in transcript
    assert "Traceback" not in transcript


def test_the_tour_goes_on_in_new_interpreters_when_forking_fails(tmp_path, monkeypatch, capsys):
    def no_fork_server(*args):
        raise lesson_runs.ForkFailed("ConnectionRefusedError: no Unix sockets here")

    lesson = tmp_path / "99_tiny.py"  # a lesson without torch: a new interpreter runs it at once
    lesson.write_text("import sys; print('tiny lesson ran with', sys.argv[1:])\n")
    runner = load_lesson("run_lessons")
    monkeypatch.setattr(runner, "lesson_files", lambda: [lesson])
    monkeypatch.setattr(lesson_runs, "fork_available", lambda: True)
    monkeypatch.setattr(lesson_runs, "run_script_forked", no_fork_server)
    assert runner.main(["--log-dir", str(tmp_path / "logs")]) == 0
    out = capsys.readouterr().out
    assert "cannot fork lessons here: ConnectionRefusedError" in out
    assert re.search(r"99_tiny\s+OK", out)
    assert "tiny lesson ran with ['--log-dir'" in (tmp_path / "logs/_tour/99_tiny.txt").read_text()


# 00_prepare_data as a slow download: its first line, then it waits until the tour has shown
# that line (the test touches "shown" when the tour's stdout has it), then its last line.
SLOW_PREPARE = """
import pathlib, sys, time
shown = pathlib.Path(sys.argv[sys.argv.index("--log-dir") + 1]) / "shown"
print("downloading: 0%", flush=True)
for _ in range(1500):  # up to 30 s for the tour to show it
    if shown.exists():
        break
    time.sleep(0.02)
print("downloading: 100%" if shown.exists() else "the tour did not show the first line")
sys.exit(0 if shown.exists() else 1)
"""


class _Watched:
    """sys.stdout for the tour: keeps what it prints and touches ``shown`` once it has shown
    the prepare lesson's first line."""

    def __init__(self, shown: Path):
        self.shown, self.text = shown, ""

    def write(self, text: str) -> int:
        self.text += text
        if "downloading: 0%" in self.text and not self.shown.exists():
            self.shown.write_text("yes")
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("flags", [[], ["--fresh"]], ids=["forked", "fresh"])
def test_the_tour_shows_the_prepare_lessons_output_while_it_runs(tmp_path, monkeypatch, flags):
    prepare, quiet = tmp_path / "00_prepare_data.py", tmp_path / "01_quiet.py"
    prepare.write_text(SLOW_PREPARE)
    quiet.write_text("print('a line only for the transcript')\n")
    log_dir = tmp_path / "logs"
    runner = load_lesson("run_lessons")
    monkeypatch.setattr(runner, "lesson_files", lambda: [prepare, quiet])
    out = _Watched(log_dir / "shown")
    monkeypatch.setattr(sys, "stdout", out)
    assert runner.main(["--log-dir", str(log_dir), *flags]) == 0, out.text
    assert "    downloading: 0%\n    downloading: 100%\n" in out.text  # indented, as it came
    assert re.search(r"00_prepare_data\s+OK", out.text)
    assert "a line only for the transcript" not in out.text  # the other lessons: transcripts
    assert (log_dir / "_tour" / "00_prepare_data.txt").read_text() == \
        "downloading: 0%\ndownloading: 100%\n"
    assert "a line only" in (log_dir / "_tour" / "01_quiet.txt").read_text()


# A lesson as the tour sees it: arguments, folder, environment, output, exit code, atexit.
SCRIPT = """
import atexit, os, sys
atexit.register(lambda: print("atexit ran"))
print("argv", sys.argv[1:], "cwd", os.getcwd(), "name", __name__, os.environ["TOUR_TEST"])
print("to stderr", file=sys.stderr)
print("stdin", repr(sys.stdin.read()), "中文")
what = sys.argv[1]
if what == "crash":
    raise ValueError("boom")
sys.exit("a message" if what == "message" else int(what))
"""

RUNNERS = ["run_script"] + (["run_script_forked"] if lesson_runs.fork_available() else [])


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_lesson_runs_the_same_in_a_new_or_a_forked_interpreter(tmp_path, runner):
    script = tmp_path / "lesson.py"
    script.write_text(SCRIPT, encoding="utf-8")
    run = getattr(lesson_runs, runner)
    parents_folder = tempfile.TemporaryDirectory()  # the parent's: a child must not delete it
    expected = {"0": 0, "3": 3, "message": 1, "crash": 1}
    for what, code in expected.items():
        got, output = run(script, [what], tmp_path, {"TOUR_TEST": "env ok"})
        assert got == code, output
        lines = output.splitlines()
        assert lines[0] == f"argv ['{what}'] cwd {tmp_path} name __main__ env ok"
        assert "to stderr" in lines and "stdin '' 中文" in lines
        assert lines[-1] == "atexit ran"
        if what == "message":
            assert "a message" in lines
        if what == "crash":
            assert "Traceback (most recent call last):" in output
            assert "ValueError: boom" in output
    assert Path(parents_folder.name).is_dir()
    parents_folder.cleanup()


STOPPING_LESSON = """
import pathlib, signal, sys, time
def stop(*_):
    time.sleep(1)  # a lesson finishing its files after Ctrl-C
    pathlib.Path("finished").write_text("yes")
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
pathlib.Path("started").write_text("yes")
time.sleep(60)
"""

TOUR = """
import sys
from pathlib import Path
sys.path.insert(0, {src!r})
from tudui.infra import lesson_runs
lesson_runs.PRELOAD.clear()  # the lesson here is plain Python: a server without torch is quicker
if __name__ == "__main__":  # the fork server imports this file too
    try:
        getattr(lesson_runs, sys.argv[1])(Path("lesson.py"), [], Path.cwd(), {{}})
    except KeyboardInterrupt:
        sys.exit(130)
"""


@pytest.mark.parametrize("runner", RUNNERS)
def test_ctrl_c_in_the_tour_lets_the_lesson_finish_its_files(tmp_path, runner):
    (tmp_path / "lesson.py").write_text(STOPPING_LESSON)
    (tmp_path / "tour.py").write_text(TOUR.format(src=str(REPO / "src")))
    # a session of its own: Ctrl-C in a terminal reaches the tour and the lesson, as here
    tour = subprocess.Popen([sys.executable, "tour.py", runner], cwd=tmp_path,
                            start_new_session=True)
    try:
        for _ in range(600):
            if (tmp_path / "started").exists():
                break
            time.sleep(0.05)
        os.killpg(tour.pid, signal.SIGINT)
        assert tour.wait(timeout=60) == 130
    finally:
        tour.kill()
    assert (tmp_path / "finished").read_text() == "yes"  # not killed after a quarter second


def test_ctrl_c_stops_the_tour_with_the_same_line(tmp_path, monkeypatch, capsys):
    runner = load_lesson("run_lessons")
    monkeypatch.setattr(runner, "run_one", lambda *args: (130, 0.5, "stopped"))  # the lesson got it
    assert runner.main(["--only", "01", "--log-dir", str(tmp_path)]) == 130
    assert capsys.readouterr().err.strip() == errors.INTERRUPTED


@pytest.mark.parametrize("flag_type, good, bad", [
    (cli.positive_int, [("1", 1), ("64", 64)], ["0", "-3", "1.5", "x"]),
    (cli.non_negative_int, [("0", 0), ("4", 4)], ["-1", "two"]),
    (cli.positive_finite_float, [("0.01", 0.01), ("2.5", 2.5), ("1e6", 1e6)],
     ["0", "-1", "nan", "inf", "-inf", "1e999", "x"]),
    (cli.learning_rate, [("0.01", 0.01), ("1e-3", 1e-3), ("10", 10.0)],
     ["0", "-1", "nan", "inf", "1e300", "10.5", "x"]),
    (cli.seed, [("0", 0), ("4294967295", 2**32 - 1)],
     ["-1", "4294967296", "99999999999999999999999", "1.5", "x"]),
])
def test_flag_types_reject_values_no_lesson_can_use(flag_type, good, bad, capsys):
    for text, value in good:
        assert flag_type(text) == value
    parser = cli.lesson_parser("t")
    parser.add_argument("--value", type=flag_type)
    for text in bad:
        with pytest.raises(SystemExit) as info:
            parser.parse_args([f"--value={text}"])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --value" in err and "/ must be" in err
        assert "错误：命令行参数不对" in err  # argparse's English line, then a Chinese one


def test_seed_is_bounded_in_every_lesson_and_argparse_errors_are_bilingual(capsys):
    parser = cli.lesson_parser("t")
    assert parser.parse_args(["--seed", str(cli.MAX_SEED)]).seed == 2**32 - 1
    for argv in (["--seed", str(2**60)], ["--no-such-flag"], ["--device", "tpu"]):
        with pytest.raises(SystemExit) as info:
            parser.parse_args(argv)
        assert info.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert lines[0].startswith("usage:") and ": error: " in lines[-2]
        assert "错误：" in lines[-1] and "--help" in lines[-1]


def test_command_line_paths_are_read_from_the_current_folder_and_shown_absolute(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    args = cli.lesson_parser("t").parse_args(["--data-root", "data", "--log-dir", "~/runs/../logs"])
    assert args.data_root == str(tmp_path / "data")
    assert args.log_dir == str(tmp_path / "home" / "logs")
    assert paths.lesson_log_dir("27_train", "out") == tmp_path / "out" / "27_train"


def test_lessons_print_chinese_through_a_cp1252_pipe(tmp_path):
    # Windows with a Western locale, output redirected: Python picks cp1252, which has no Chinese.
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    proc = subprocess.run([sys.executable, str(paths.SRC_DIR / "33_read_project.py"),
                           "--log-dir", str(tmp_path), "--lesson", "99"],
                          env=env, capture_output=True, timeout=120)
    assert proc.returncode == 2  # the clear error for an unknown lesson, not a UnicodeEncodeError
    assert "本项目的课" in proc.stdout.decode("utf-8")
    assert "没有名为" in proc.stderr.decode("utf-8") and b"Traceback" not in proc.stderr


def test_log_dir_that_is_a_file_is_a_clear_error_and_saved_files_are_not_private(tmp_path):
    not_a_folder = tmp_path / "logs.txt"
    not_a_folder.write_text("a file")
    with pytest.raises(errors.CourseError, match="--log-dir"):
        paths.lesson_log_dir("27_train", not_a_folder)
    saved = files.atomic_write_bytes(tmp_path / "out" / "model.pth", b"weights")
    if os.name == "posix":  # mkstemp's 0600 would hide checkpoints from other users
        plain = saved.with_name("plain.bin")  # what open() gives a new file here
        plain.write_bytes(b"")
        assert saved.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
        plain.unlink()
    assert saved.read_bytes() == b"weights" and not list(saved.parent.glob("*.tmp"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_asking_for_a_missing_gpu_fails_in_every_lesson_parser():
    parser = cli.lesson_parser("t")
    assert parser.parse_args(["--device", "cpu"]).device == "cpu"
    with pytest.raises(errors.CourseError, match="CUDA"):
        parser.parse_args(["--device", "cuda"])


# ---------------------------------------------------------------- OS-level failures, file safety

@errors.friendly_errors
def _saving_lesson(argv=None):
    """A lesson's shape, reduced to the write every lesson ends with."""
    files.atomic_write_bytes(argv[0], b"new weights" * 1000)
    return {}


def _exit_code_and_message(argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        _saving_lesson(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return info.value.code, " ".join(err.split())


@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, ["no space left", "make clean-logs", "--log-dir", "磁盘空间不足", "写了一半的已删除"]),
    (errno.EROFS, ["read-only file system", "--log-dir", "只读"]),
    (errno.EACCES, ["permission denied while writing", "chmod", "--log-dir", "没有权限"]),
])
def test_a_failed_write_is_one_paragraph_and_the_complete_file_stays(code, words, tmp_path,
                                                                      monkeypatch, capsys):
    target = files.atomic_write_bytes(tmp_path / "27_train" / "tudui_0.pth", b"complete")

    def half_then_fail(fd, data):  # the disk fills up (or refuses) in the middle of the write
        os.write(fd, data[:100])
        os.close(fd)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files, "_write_and_sync", half_then_fail)
    exit_code, message = _exit_code_and_message([str(target)], capsys)
    assert exit_code == 2 and str(target) in message
    assert all(word in message for word in words), message
    assert target.read_bytes() == b"complete"
    assert [p.name for p in target.parent.iterdir()] == ["tudui_0.pth"]  # no .tmp left


def test_a_file_where_a_folder_is_needed_and_a_folder_where_a_file_is(tmp_path, capsys):
    blocker = tmp_path / "logs"
    blocker.write_text("a file, not a folder")
    exit_code, message = _exit_code_and_message([str(blocker / "27_train" / "x.pth")], capsys)
    assert exit_code == 2 and f"{blocker} is a file" in message and "--log-dir" in message
    assert "是一个文件" in message and blocker.read_text() == "a file, not a folder"
    with pytest.raises(errors.CourseError, match=f"{re.escape(str(blocker))} is a file"):
        paths.lesson_log_dir("27_train", blocker)

    folder = tmp_path / "out" / "tudui_7.pth"  # a folder with a checkpoint's name
    (folder / "inside").mkdir(parents=True)
    exit_code, message = _exit_code_and_message([str(folder)], capsys)
    assert exit_code == 2 and str(folder) in message
    if os.name == "posix":  # Windows reports the same rename as "access denied"
        assert "is a folder" in message and "是一个文件夹" in message
    assert sorted(p.name for p in folder.parent.iterdir()) == ["tudui_7.pth"]
    assert (folder / "inside").is_dir()


def test_os_errors_raised_anywhere_in_a_lesson_are_explained_and_others_are_not(tmp_path, capsys):
    data = "/somewhere/dataset/cifar-10-batches-py"

    @errors.friendly_errors
    def reading(argv=None):
        raise PermissionError(errno.EACCES, "Permission denied", data)

    with pytest.raises(SystemExit) as info:
        reading([])
    message = " ".join(capsys.readouterr().err.split())
    assert info.value.code == 2 and f"permission denied for {data}" in message
    assert data in message and "--data-root" in message and "没有权限" in message

    @errors.friendly_errors
    def event_file_on_a_full_disk(argv=None):  # TensorBoard's writer names no file
        paths.lesson_log_dir("08_tensorboard", argv[0])
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(SystemExit) as info:
        event_file_on_a_full_disk([str(tmp_path)])
    message = " ".join(capsys.readouterr().err.split())
    assert info.value.code == 2
    assert f"no space left on the disk while writing a file in {tmp_path / '08_tensorboard'}" \
        in message and "磁盘空间不足" in message

    @errors.friendly_errors
    def bug(argv=None):
        raise OSError(errno.EBADF, "Bad file descriptor")

    with pytest.raises(OSError):  # not a learner's problem: the traceback stays, to be reported
        bug([])


def test_atomic_write_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path,
                                                                            monkeypatch):
    events, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(*args):
        events.append("rename")
        real_replace(*args)

    monkeypatch.setattr(paths.os, "fsync", fsync)
    monkeypatch.setattr(paths.os, "replace", replace)
    files.atomic_write_bytes(tmp_path / "ck.pth", b"weights")
    expected = ["fsync file", "rename"] + (["fsync folder"] if os.name != "nt" else [])
    assert events == expected and (tmp_path / "ck.pth").read_bytes() == b"weights"


ODD_NAMES = ["/tmp/my logs", "/tmp/$HOME/x", "/tmp/a`id`b", "/tmp/it's", '/tmp/say "hi"',
             "/tmp/a;b&c|d", "/tmp/新建文件夹 (2)", "plain/path_1.pth"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX shell quoting")
def test_shell_quote_is_safe_to_paste_into_a_posix_shell():
    for name in ODD_NAMES:
        assert shlex.split(commands.shell_quote(name)) == [name]
    assert commands.shell_quote("plain/path_1.pth") == "plain/path_1.pth"  # no noise when not needed
    assert commands.shell_quote("D:/课程/data") == "D:/课程/data"
    assert commands.shell_quote("/tmp/my logs") == '"/tmp/my logs"'  # the same as on Windows
    words = " ".join(commands.shell_quote(n) for n in ODD_NAMES)
    echoed = subprocess.run(["sh", "-c", f"printf '%s\\n' {words}"], capture_output=True,
                            text=True, check=True).stdout
    assert echoed.splitlines() == ODD_NAMES  # nothing expanded, nothing run
    command = commands.lesson_command("27_train", "/tmp/$HOME/x")
    assert command == "python src/27_train.py --log-dir '/tmp/$HOME/x'"


def test_shell_quote_on_windows_uses_double_quotes(monkeypatch):
    monkeypatch.setattr(paths.os, "name", "nt")
    assert commands.shell_quote(r"C:\Users\me\My logs") == r'"C:\Users\me\My logs"'
    assert commands.shell_quote(r"D:\logs") == r"D:\logs"


def test_a_python_without_torch_gets_one_line_saying_what_to_do():
    code = ("import runpy, sys; sys.modules['torch'] = None; "  # as if torch were not installed
            f"sys.argv = ['01_env_check.py']; runpy.run_path({str(paths.SRC_DIR / '01_env_check.py')!r}, "
            "run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=paths.SRC_DIR)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "make lessons" in proc.stderr
    assert "source .venv/bin/activate" in proc.stderr and "没有找到 torch" in proc.stderr


FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls.log"
case "$*" in *dry-run*|-c*) exit "$(cat "$(dirname "$0")/check_rc")";; esac
"""


@pytest.mark.skipif(shutil.which("make") is None or os.name != "posix", reason="needs make")
@pytest.mark.parametrize("installed, expected", [(True, "kept as it is"), (False, "updating")])
def test_make_checks_a_hand_made_venv_instead_of_reinstalling_it(installed, expected, tmp_path):
    for name in ("Makefile", "requirements.txt"):
        shutil.copy(REPO / name, tmp_path / name)
    bin_dir = tmp_path / ".venv" / "bin"  # a .venv made by hand: no stamp file
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(FAKE_PYTHON)  # records what make asks of it
    (bin_dir / "python").chmod(0o755)
    (bin_dir / "check_rc").write_text("0" if installed else "1")

    def make_venv() -> str:
        return subprocess.run(["make", "-s", "venv", "PYTHON=false"], cwd=tmp_path, check=True,
                              capture_output=True, text=True, timeout=60).stdout

    out = make_venv()
    calls = (bin_dir / "calls.log").read_text().splitlines()
    assert "checking .venv" in out and expected in out and "creating" not in out
    assert "--dry-run --no-index" in calls[0]  # versions checked offline first
    if installed:  # then the imports, and nothing installed
        assert len(calls) == 2 and calls[1].startswith("-c import torch, torchvision")
    else:  # pip installs what is missing into the same .venv
        assert calls[1:] == ["-m pip install --disable-pip-version-check -r requirements.txt"]
    assert (tmp_path / ".venv" / "requirements.installed").read_text() == \
        (tmp_path / "requirements.txt").read_text()
    assert make_venv().strip() == ">> checking .venv: requirements.txt unchanged since its last install"


# ---------------------------------------------------------------- the README a learner reads

def test_the_readme_is_short_and_every_name_in_it_exists():
    root = paths.REPO_ROOT
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250, "the README is for learners: details go to docs/"
    # every lesson is in the lesson table, and every file, page and make target it names exists
    for path in paths.lesson_files():
        assert f"| `{path.name}`" in readme, path.name
    for name in set(re.findall(r"`((?:src|benchmarks|tests)/[\w./-]+\.py)", readme)):
        assert "..." in name or (root / name).is_file(), name   # "src/18_...py": a pattern
    for page in set(re.findall(r"\]\(((?:docs|benchmarks)/[\w./-]+\.md)\)", readme)):
        assert (root / page).is_file(), page
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    for target in set(re.findall(r"(?:`|^)make ([\w-]+)", readme, flags=re.MULTILINE)):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
    assert not re.search(r"TODO|RESULT_\d|TIMES_LINE", readme)


def test_the_readme_marks_exactly_the_lessons_with_an_exercise():
    from tudui.infra.practice_spec import EXERCISES

    readme = (paths.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    marked = set(re.findall(r"\| `(\d\d_\w+)\.py` ✎ \|", readme))
    assert marked == {ex.lesson for ex in EXERCISES}
