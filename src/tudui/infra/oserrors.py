"""OS errors a learner can fix (a full disk, a read-only place, no permission, a file where a
folder should be) as one CourseError paragraph; anything else stays a traceback: a bug to report."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from tudui.infra.course_error import CourseError

_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}  # EDQUOT: over the disk quota
_READ_ONLY = {errno.EROFS}
_NO_PERMISSION = {errno.EACCES, errno.EPERM}
_WRONG_KIND = {errno.ENOTDIR, errno.EEXIST, errno.EISDIR}
_UNREACHABLE = {errno.ELOOP, errno.ENAMETOOLONG}
_DOING = {"writing": "写入", "reading": "读取", "creating the folder": "创建文件夹"}
# The lesson folder made last (paths.lesson_log_dir calls remember_output_folder): a full disk's
# write() names no file, so the message names this folder instead.
last_output_folder: Path | None = None
_ELSEWHERE = ("pass --log-dir (outputs) or --data-root (data sets) another folder",
              "用 --log-dir（输出）或 --data-root（数据集）指定别的文件夹")


def remember_output_folder(folder: Path) -> None:
    """Name ``folder`` in messages about a write that names no file (see ``last_output_folder``)."""
    global last_output_folder
    last_output_folder = folder


def os_error(err: OSError, path: str | os.PathLike | None = None,
             doing: str | None = None) -> CourseError | None:
    """The CourseError for ``err`` when a learner can fix its cause, else None.

    ``path``: the file or folder the lesson was working on (default: the one ``err`` names);
    ``doing``: "writing", "reading" or "creating the folder" (None: unknown).
    """
    code = err.errno
    if doing is None and code in _NO_SPACE | _READ_ONLY:
        doing = "writing"  # only writes fill a disk or meet a read-only one
    path = path if path is not None else err.filename
    if path is not None:
        shown = shown_zh = os.path.abspath(os.fspath(path))
    else:  # a write() into a full disk names no file: say where the lesson writes
        folder = last_output_folder
        shown = f"a file in {folder}" if folder else "a file"
        shown_zh = f"{folder} 中的文件" if folder else "文件"
    action = f"while {doing} {shown}" if doing else f"for {shown}"
    action_zh = f"{_DOING.get(doing, '访问')} {shown_zh}{' ' if path is not None else ''}时"
    if code in _NO_SPACE:
        return CourseError(
            f"no space left on the disk {action}. Free some space (old runs under logs/ can go: "
            f"make clean-logs), or {_ELSEWHERE[0]} on a disk with room. Files written completely "
            "before are intact; the half-written one was removed.",
            f"{action_zh}磁盘空间不足。请清理一些空间（logs/ 下的旧结果可以删除：make clean-logs），"
            f"或{_ELSEWHERE[1]}（放在有空间的磁盘上）。之前写完的文件完好，写了一半的已删除。")
    if code in _READ_ONLY:
        return CourseError(
            f"{shown} is on a read-only file system (a mounted image, a protected drive), so the "
            f"lesson cannot write there: {_ELSEWHERE[0]} that you can write to.",
            f"{shown_zh} 位于只读文件系统上，无法写入：请{_ELSEWHERE[1]}（必须可写）。")
    if code in _NO_PERMISSION:
        return CourseError(
            f"permission denied {action}. Give yourself access (on Linux/macOS e.g. "
            "`chmod -R u+rwX` on the folder, or ask its owner; on Windows also close programs "
            f"that have the file open), or {_ELSEWHERE[0]} of your own.",
            f"{action_zh}没有权限。请给自己读写权限（Linux/macOS 可用 chmod -R u+rwX，或请文件夹的所有者处理；"
            f"Windows 上也请关闭正在打开该文件的程序），或{_ELSEWHERE[1]}。")
    if code == errno.ENAMETOOLONG:
        return CourseError(
            f"the path {shown} is too long for the file system ({len(shown)} characters; most "
            "allow at most 255 bytes per file or folder name and 4096 for the whole path). Use "
            f"a shorter folder: {_ELSEWHERE[0]}.",
            f"路径 {shown_zh} 太长（{len(shown)} 个字符），文件系统不接受。请换一个短一些的文件夹："
            f"{_ELSEWHERE[1]}。")
    blocker = _file_in_the_way(shown) if path is not None and \
        code in _WRONG_KIND | _UNREACHABLE else None
    if blocker is not None and os.path.islink(blocker):
        return CourseError(
            f"{blocker} is a symbolic link that leads nowhere usable (to itself through a loop of "
            f"links, or to something missing), but the lesson needs a folder there ({action}). "
            f"Delete or fix that link, or {_ELSEWHERE[0]}.",
            f"{blocker} 是一个无效的符号链接（循环指向自己，或指向不存在的地方），但本课需要在这里放一个文件夹"
            f"（{action_zh}）。请删除或修好这个链接，或{_ELSEWHERE[1]}。")
    if code in _WRONG_KIND and path is not None:
        if blocker is None and code != errno.EISDIR:
            return None  # e.g. a folder that already exists: a bug, not the learner's setup
        if blocker is None:  # the name a file needs is taken by a folder
            return CourseError(
                f"{shown} is a folder, but the lesson needs a file of that name there "
                f"({action}). Rename or remove that folder, or {_ELSEWHERE[0]}.",
                f"{shown} 是一个文件夹，但本课需要同名的文件（{action_zh}）。"
                f"请重命名或删除这个文件夹，或{_ELSEWHERE[1]}。")
        return CourseError(
            f"{blocker} is a file, but the lesson needs a folder there ({action}). "
            f"Rename or remove that file, or {_ELSEWHERE[0]}.",
            f"{blocker} 是一个文件，但本课需要在这里放一个文件夹（{action_zh}）。请重命名或删除这个文件，"
            f"或{_ELSEWHERE[1]}。")
    return None


def _file_in_the_way(path: str) -> str | None:
    """``path`` or its closest ancestor that exists as something other than a folder."""
    for candidate in [Path(path), *Path(path).parents]:
        if os.path.lexists(candidate):
            return None if candidate.is_dir() else str(candidate)
    return None
