"""Downloads that survive a slow or flaky server, are verified before they are used, and never
leave a file that only looks complete; archives unpacked into place only once their contents
check out.

A download goes to ``<file>.part``, with ``<file>.part.json`` beside it (the URL, the total size
and the server's ETag / Last-Modified). Both are kept when a try fails or Ctrl-C stops it, and the
next try (or the next run) asks only for the rest (HTTP ``Range``). Each URL in the list is tried
in turn (mirrors first, the official one last); every copy passes the same md5 (or, without a
published md5, ``looks_valid``) before it is renamed to ``<file>``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tudui.errors import shorten
from tudui.infra.commands import prepare_command
from tudui.infra.files import atomic_write_bytes, file_digest, replacing_folder

# Every wait is a module constant: the tests shrink them.
DOWNLOAD_TIMEOUT_S = 30.0  # per connection, for connecting and for each read: a stall fails the try
RETRIES = 4                # more tries per URL while the download gets no further...
BACKOFF_S = 2.0            # ...waiting BACKOFF_S, then twice as long each time...
BACKOFF_MAX_S = 30.0       # ...up to this
SLOW_CHECK_AFTER_S = 30.0  # measure the speed this long before judging it;
SLOW_WHEN_LEFT_S = 600.0   # the server is "slow" when the rest would take longer than this
PROGRESS_EVERY_S = 30.0    # a progress line this often when the output is not a terminal
BAR_REFRESH_S = 0.5        # on a terminal, tqdm redraws its bar at most this often
CHUNK_BYTES = 64 * 1024
MB = 1_000_000             # as in "163 MB", what browsers show too
USER_AGENT = "tudui-pytorch-course/1 (Python urllib)"

# The first bytes of each kind of archive: anything else (a web page above all) is refused
# before a byte is saved.
ARCHIVE_MAGIC = {".tar.gz": (b"\x1f\x8b",), ".tgz": (b"\x1f\x8b",), ".gz": (b"\x1f\x8b",),
                 ".zip": (b"PK\x03\x04", b"PK\x05\x06")}
HTML_TYPES = ("text/html", "application/xhtml+xml")
HTML_STARTS = (b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<script", b"<meta",
               b"<title", b"<!--")


class DownloadFailed(Exception):
    """A data set could not be fetched or verified; ``str(err)`` says what happened."""


class DownloadInterrupted(KeyboardInterrupt):
    """Ctrl-C during a download. ``line`` says what was kept: ``friendly_errors`` prints it
    instead of its usual line and exits 130."""

    def __init__(self, line: str):
        super().__init__(line)
        self.line = line


class _TryAgain(Exception):
    """One try failed in a way that another try may not (a drop, a stall, a 503)."""

    def __init__(self, text: str, before_answer: bool = False, at_once: bool = False):
        super().__init__(text)
        self.before_answer = before_answer  # no HTTP answer came: maybe no network at all
        self.at_once = at_once              # start over without waiting (the file changed)


class _GiveUpOnURL(Exception):
    """This URL will not give the archive (404, a web page, too many failed tries)."""


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an address to download from, or None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "it must start with http:// or https:// and name a server"
    return None


def archive_urls(official: str, extra=(), env_var: str | None = None) -> list[str]:
    """The URLs to try, in order: ``extra`` (``--url``), then those in the environment variable
    ``env_var`` (separated by spaces), then ``official``; each once."""
    from_env = os.environ.get(env_var, "").split() if env_var else []
    urls: list[str] = []
    for url in (*extra, *from_env, official):
        problem = url_problem(url)
        if problem:
            where = f" (from {env_var})" if url in from_env else ""
            raise DownloadFailed(f"{url!r}{where} is not a download address: {problem}")
        if url not in urls:
            urls.append(url)
    return urls


def fetch_archive(root: Path, urls: str | list[str], filename: str, md5: str | None,
                  looks_valid=lambda path: None, mirror_option: tuple[str, str] | None = None
                  ) -> tuple[Path, str]:
    """``<root>/<filename>``: a copy already there (downloaded or placed by hand) if it verifies,
    else downloaded from the first of ``urls`` that gives it, and verified.

    A copy that fails the check is reported and removed. ``looks_valid(path)`` returns a problem
    string (or None) for archives without a published md5. ``mirror_option`` (00_prepare_data's
    flag, the environment variable) says how to add a mirror when the server is slow. Returns
    (path, how) with how in {"found", "downloaded"}; raises DownloadFailed, or
    DownloadInterrupted on Ctrl-C (the .part is kept for the next run).
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    root.mkdir(parents=True, exist_ok=True)
    path, notes = root / filename, []
    near = near_miss_archives(root, filename)
    if near and not path.is_file():
        raise DownloadFailed(near_miss_message(root, filename, near))
    transfer = _Transfer(root, filename, md5, looks_valid, mirror_option)
    if path.is_file():
        problem = transfer.problem(path)
        if problem is None:
            transfer.discard()  # an unfinished download of a file now placed by hand
            return path, "found"
        path.unlink()
        notes.append(f"the copy of {filename} in {root} was damaged or incomplete ({problem}) "
                     "and has been removed")
        print(f"[!] {notes[-1]}")
    try:
        transfer.run(urls, notes)
    except KeyboardInterrupt:
        transfer.progress.close()  # the bar goes before the line that says what was kept
        raise DownloadInterrupted(transfer.interrupted_line()) from None
    finally:
        transfer.progress.close()
    return path, "downloaded"


def fetch_checkpoint(url: str, folder: Path) -> Path:
    """A pretrained-weights file (``.../vgg16-397923af.pth``) into ``folder`` (torch's cache)
    the way every download here goes: a timeout per connection, a ``.part`` the next run
    continues, progress; checked by the sha256 prefix in its name, as torch.hub checks it.
    Returns the file; raises DownloadFailed (DownloadInterrupted on Ctrl-C)."""
    filename = url.rsplit("/", 1)[-1]
    prefix = filename.rsplit("-", 1)[-1].split(".")[0] if "-" in filename else ""

    def problem(path: Path) -> str | None:
        return None if file_digest(path).startswith(prefix) else \
            f"its sha256 does not start with {prefix}, as its name says"

    return fetch_archive(folder, url, filename, None, looks_valid=problem)[0]


def _megabytes(size: int | None) -> str:
    return "?" if size is None else f"{size / MB:.1f} MB"


def _speed(bytes_per_s: float) -> str:
    return f"{bytes_per_s / MB:.1f} MB/s" if bytes_per_s >= MB else f"{bytes_per_s / 1e3:.0f} kB/s"


def _duration(seconds: float) -> str:
    """"2 h 5 min", "32 min", "45 s", "1.5 s"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= 60:
        return f"{(seconds + 30) // 60} min"
    return f"{seconds} s"


def _duration_zh(seconds: float) -> str:
    return _duration(seconds).replace(" h ", " 小时 ").replace(" min", " 分钟").replace(" s", " 秒")


def _network_reason(err: BaseException) -> str:
    """A network failure in a few words."""
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        err = err.reason if isinstance(err.reason, BaseException) else OSError(str(err.reason))
    if isinstance(err, TimeoutError):
        return f"no data for {DOWNLOAD_TIMEOUT_S:g} s (timed out)"
    if isinstance(err, socket.gaierror):
        return f"the server's name could not be looked up ({err}): no network, or a blocked name"
    if isinstance(err, ConnectionRefusedError):
        return "the server refused the connection"
    return f"{type(err).__name__}: {err}"


def _content_range(value: str | None) -> tuple[int, int | None] | None:
    """(first byte, total size or None) of a ``Content-Range: bytes 100-199/200`` header."""
    try:
        unit, _, rest = (value or "").partition(" ")
        span, _, total = rest.partition("/")
        first = int(span.split("-")[0])
        return (first, None if total.strip() == "*" else int(total)) if unit == "bytes" else None
    except ValueError:
        return None


def not_the_archive(filename: str, content_type: str, first: bytes) -> str | None:
    """Why the first bytes of an answer are not ``filename`` (a web page above all), or None."""
    magic = next((m for suffix, m in ARCHIVE_MAGIC.items() if filename.endswith(suffix)), None)
    if magic and first.startswith(magic):
        return None
    head = first[:2048].lstrip().lower()
    mime = content_type.split(";")[0].strip().lower()
    shown = " ".join(first[:48].decode("utf-8", "replace").split())
    if mime in HTML_TYPES or head.startswith(HTML_STARTS) or b"<html" in head:
        return (f"this URL gives a web page, not the archive (Content-Type: {mime or 'none'}, "
                f"it starts with {shown!r}): a login, error or \"click to download\" page. Open "
                "it in a browser to find the file itself, or use another URL")
    if not first:
        return "the server sent an empty answer instead of the archive"
    if magic:
        return (f"this URL does not give the archive: {filename} starts with the bytes "
                f"{magic[0].hex(' ')}, this answer with {shown!r}")
    return None


class _Progress:
    """One progress line: tqdm on a terminal, else a plain line every PROGRESS_EVERY_S; and, once
    per file, the paragraph that says the server is slow and what to do."""

    def __init__(self, filename: str, slow_paragraph):
        self.filename, self.slow_paragraph = filename, slow_paragraph
        self.bar, self.done, self.total = None, 0, None
        self.run_bytes, self.run_start, self.warned = 0, None, False
        self.last_line = (0.0, 0)  # (time, run_bytes) of the last plain line

    def begin(self, done: int, total: int | None) -> None:
        """A try starts at ``done`` bytes of ``total``."""
        self.close()
        self.done, self.total = done, total
        if sys.stderr.isatty():
            from tqdm import tqdm

            layout = ("{desc}: {percentage:3.0f}% {n_fmt}B / {total_fmt}B, {rate_fmt}, "
                      "{remaining} left" if total else "{desc}: {n_fmt}B, {rate_fmt}")
            self.bar = tqdm(total=total, initial=done, unit="B", unit_scale=True,
                            unit_divisor=1000, desc=self.filename, bar_format=layout,
                            leave=False, mininterval=BAR_REFRESH_S)
        self.last_line = (time.monotonic(), self.run_bytes)

    def advance(self, size: int) -> None:
        now = time.monotonic()
        if self.run_start is None:
            self.run_start = now
        self.done += size
        self.run_bytes += size
        if self.bar is not None:
            self.bar.update(size)
        elif now - self.last_line[0] >= PROGRESS_EVERY_S:
            self.say("  " + self.line(now))
        if not self.warned and self.total and now - self.run_start >= SLOW_CHECK_AFTER_S \
                and now > self.run_start:
            rate = self.run_bytes / (now - self.run_start)
            left = (self.total - self.done) / rate
            if left > SLOW_WHEN_LEFT_S:
                self.warned = True
                self.say(self.slow_paragraph(rate, self.total - self.done, left))

    def line(self, now: float) -> str:
        """"45.2 / 163.1 MB (28%), 78 kB/s, about 25 min left", the speed since the last line."""
        then, before = self.last_line
        rate = (self.run_bytes - before) / max(now - then, 1e-6)
        self.last_line = (now, self.run_bytes)
        if not self.total:
            return f"{self.done / MB:.1f} MB, {_speed(rate)}"
        left = f"about {_duration((self.total - self.done) / rate)} left / 还剩约 " \
               f"{_duration_zh((self.total - self.done) / rate)}" if rate > 0 else "stalled / 停住了"
        return (f"{self.done / MB:.1f} / {self.total / MB:.1f} MB "
                f"({100 * self.done / self.total:.0f}%), {_speed(rate)}, {left}")

    def say(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def finish(self) -> None:
        self.close()
        if not self.run_bytes:
            return
        took = time.monotonic() - (self.run_start or time.monotonic())
        rate = f", {_speed(self.run_bytes / took)}" if took > 0 else ""
        print(f"  下载完成 / downloaded {self.run_bytes / MB:.1f} MB in {_duration(took)}{rate}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _Transfer:
    """The download of one archive into ``<root>/<filename>.part``, from a list of URLs."""

    def __init__(self, root: Path, filename: str, md5: str | None, looks_valid,
                 mirror_option: tuple[str, str] | None):
        self.root, self.filename, self.md5, self.looks_valid = root, filename, md5, looks_valid
        self.mirror_option = mirror_option
        self.part = root / (filename + ".part")
        self.record = root / (filename + ".part.json")
        self.url = ""  # the one being tried
        self.answered: set[str] = set()
        self.appended = False  # the .part holds pieces of more than one try: md5 may fail
        self.progress = _Progress(filename, self.slow_paragraph)

    # ------------------------------------------------------------------ what is kept
    def kept(self) -> int:
        return self.part.stat().st_size if self.part.is_file() else 0

    def info(self) -> dict:
        """The record beside the .part ({} when there is none or it is unreadable)."""
        try:
            info = json.loads(self.record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def kept_from(self, url: str) -> int:
        """Bytes of the .part that a try of ``url`` may continue from (0: start over)."""
        info = self.info()
        total, kept = info.get("total"), self.kept()
        if info.get("url") != url or (isinstance(total, int) and kept > total):
            return 0
        return kept

    def discard(self) -> None:
        self.part.unlink(missing_ok=True)
        self.record.unlink(missing_ok=True)
        self.appended = False

    def problem(self, path: Path) -> str | None:
        """None when ``path`` is the archive: its md5, then ``looks_valid``."""
        if self.md5 is not None and file_digest(path, "md5") != self.md5:
            return "its md5 checksum does not match"
        return self.looks_valid(path)

    # ------------------------------------------------------------------ the URLs in turn
    def run(self, urls: list[str], notes: list[str]) -> None:
        """Download from the first URL that gives the archive, verify it, rename it into place."""
        fresh_tried, i = False, 0
        while i < len(urls):
            self.url = url = urls[i]
            print(f"下载 / downloading {url} -> {self.root / self.filename}")
            try:
                self.from_url(url)
            except _GiveUpOnURL as err:
                notes.append(f"downloading {url} failed ({err})")
                more = "; trying the next URL / 试下一个地址" if i + 1 < len(urls) else ""
                self.progress.say(f"  [!] {err}{more}")
                i += 1
                continue
            self.progress.finish()
            problem = self.problem(self.part)
            if problem is None:
                os.replace(self.part, self.root / self.filename)
                self.record.unlink(missing_ok=True)
                return
            resumed = self.appended
            self.discard()
            if resumed and not fresh_tried:  # pieces from several tries: try once in one go
                fresh_tried = True
                print(f"  [!] the downloaded {self.filename} was assembled from several tries and "
                      f"{problem}: removed; downloading it once more from the start / 校验失败，"
                      "已删除，从头再下载一次")
                continue
            notes.append(f"the file downloaded from {url} is not {self.filename} ({problem}); "
                         "it has been removed")
            print(f"  [!] {notes[-1]}")
            i += 1
        kept = self.kept()
        if kept:
            notes.append(f"kept {_megabytes(kept)} of {_megabytes(self.info().get('total'))} "
                         f"in {self.part}: running the same command again continues from there")
        raise DownloadFailed("; ".join(notes))

    def from_url(self, url: str) -> None:
        """Tries ``url`` until the .part is complete; a try that gets further than any before
        resets the count. Raises _GiveUpOnURL."""
        failures, restarts, furthest = 0, 0, self.kept_from(url)
        if furthest:
            self.answered.add(url)  # it did answer, in an earlier run: worth retrying
        while True:
            try:
                self.one_try(url)
                return
            except _TryAgain as err:
                self.progress.close()
                if err.before_answer and url not in self.answered:
                    raise _GiveUpOnURL(str(err)) from None
                if err.at_once:  # the .part was discarded: a fresh start, not a failed try
                    restarts, furthest = restarts + 1, 0
                    if restarts > 2:
                        raise _GiveUpOnURL(f"{err}; the file keeps changing") from None
                    self.progress.say(f"  从头下载 / starting over: {err}")
                    continue
                now = self.kept_from(url)
                failures = 0 if now > furthest else failures + 1
                furthest = max(furthest, now)
                if failures > RETRIES:
                    tries = f"{RETRIES + 1} tries" if RETRIES else "1 try"
                    raise _GiveUpOnURL(f"{err}; gave up after {tries} that got no further"
                                       ) from None
                wait = min(BACKOFF_MAX_S, BACKOFF_S * 2 ** max(failures - 1, 0))
                at = f", continuing at {_megabytes(now)}" if now else ""
                count = f" (retry {failures} of {RETRIES})" if failures else ""
                self.progress.say(f"  [!] {err}; 重试 / trying again in {wait:g} s{at}{count}")
                time.sleep(wait)

    # ------------------------------------------------------------------ one try
    def one_try(self, url: str) -> None:
        """One HTTP request: the rest of the .part (Range), or all of it. Returns when the .part
        is complete; raises _TryAgain or _GiveUpOnURL."""
        info, have = self.info(), self.kept_from(url)
        total = info.get("total") if have else None
        self.appended = bool(have)  # pieces of more than one try: a changed file shows in md5
        if have and have == total:
            return  # complete already (stopped before it was checked)
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
            etag = info.get("etag") or ""
            validator = etag if not etag.startswith("W/") else info.get("last_modified")
            if validator:  # the server sends the whole (new) file if it changed meanwhile
                headers["If-Range"] = validator
        try:
            response = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                              timeout=DOWNLOAD_TIMEOUT_S)
        except urllib.error.HTTPError as err:
            err.close()
            self.answered.add(url)
            answer = f"the server answered {err.code} {shorten(err.reason)}"
            if err.code == 416 and have:  # it cannot give "the rest": ours is not its file
                self.discard()
                raise _TryAgain(f"{answer} to a resume request", at_once=True) from None
            if err.code in (408, 429) or err.code >= 500:
                raise _TryAgain(answer) from None
            raise _GiveUpOnURL(answer) from None
        except (OSError, http.client.HTTPException) as err:  # URLError: could not connect
            raise _TryAgain(_network_reason(err), before_answer=True) from None
        with response:
            self.answered.add(url)
            self.receive(response, url, info, have)

    def receive(self, response, url: str, info: dict, have: int) -> None:
        headers = response.headers
        content_type = headers.get("Content-Type", "")
        etag, modified = headers.get("ETag"), headers.get("Last-Modified")
        try:
            length = int(headers.get("Content-Length"))
        except (TypeError, ValueError):
            length = None
        restart_reason = None
        if response.status == 206 and have:
            got = _content_range(headers.get("Content-Range"))
            if got is None or got[0] != have or (info.get("total") and got[1] != info["total"]) \
                    or (info.get("etag") and etag and etag != info["etag"]):
                self.discard()
                raise _TryAgain(f"the file at {url} changed since {self.part.name} was started "
                                f"(now {shorten(headers.get('Content-Range'))}, ETag "
                                f"{shorten(etag)})",
                                at_once=True)
            start, total = have, got[1]
        else:
            start, total = 0, length
            if have:
                changed = (info.get("etag") and etag and etag != info["etag"]) or \
                    (info.get("total") and length is not None and length != info["total"])
                restart_reason = (
                    f"the file at {url} changed since {self.part.name} was started" if changed
                    else f"the server at {url} cannot resume (it answered the Range request "
                         "with the whole file)")
            elif self.part.is_file():
                source = info.get("url")
                restart_reason = (f"{self.part.name} came from another URL ({shorten(source)})"
                                  if source
                                  else f"{self.part.name} has no record of where it came from")
        read = getattr(response, "read1", response.read)
        try:
            first = read(CHUNK_BYTES)
        except (OSError, http.client.HTTPException) as err:
            raise _TryAgain(_network_reason(err)) from None
        mime = content_type.split(";")[0].strip().lower()
        problem = not_the_archive(self.filename, content_type, first) if start == 0 else \
            (not_the_archive(self.filename, content_type, b"") if mime in HTML_TYPES else None)
        if problem:
            raise _GiveUpOnURL(problem)
        self.appended = start > 0
        if restart_reason:
            self.progress.say(f"  从头下载 / starting over: {restart_reason}")
        if start == 0:
            record = {"url": url, "total": total, "etag": etag, "last_modified": modified}
            atomic_write_bytes(self.record, json.dumps(record, indent=1).encode("utf-8"))
        else:
            print(f"  继续下载 / resuming at {_megabytes(start)} of {_megabytes(total)} "
                  f"(kept in {self.part.name})")
        self.progress.begin(start, total)
        size = start
        with open(self.part, "ab" if start else "wb") as out:
            chunk = first
            while chunk:
                out.write(chunk)
                out.flush()  # what arrived is on disk at once: Ctrl-C or a crash keeps it
                size += len(chunk)
                self.progress.advance(len(chunk))
                try:
                    chunk = read(CHUNK_BYTES)
                except (OSError, http.client.HTTPException) as err:
                    raise _TryAgain(f"{_network_reason(err)} after {_megabytes(size)} of "
                                    f"{_megabytes(total)}") from None
        if total is not None and size < total:
            raise _TryAgain(f"the connection closed after {_megabytes(size)} of "
                            f"{_megabytes(total)}")
        if total is not None and size > total:
            self.discard()
            raise _TryAgain(f"the server sent more than the {total} bytes it announced",
                            at_once=True)

    # ------------------------------------------------------------------ what the learner reads
    def interrupted_line(self) -> str:
        kept = self.kept()
        if not kept:
            return ("已中断下载 / download interrupted (Ctrl-C) before any data arrived; run the "
                    "same command again to start it / 再运行同一条命令即可开始下载")
        total = self.info().get("total")
        of = f" of {_megabytes(total)}" if total else ""
        return (f"已中断下载 / download interrupted (Ctrl-C): kept {_megabytes(kept)}{of} in "
                f"{self.part}; run the same command again to continue / 再运行同一条命令即可继续")

    def slow_paragraph(self, rate: float, left_bytes: int, left_s: float) -> str:
        target = self.root / self.filename
        check = "md5" if self.md5 else "CRC"
        mirror_en = mirror_zh = ""
        if self.mirror_option:
            flag, variable = self.mirror_option
            command = prepare_command(self.root, flag, "URL")
            mirror_en = (f" A mirror of the same file can also be given: `{command}`, or the "
                         f"environment variable {variable}.")
            mirror_zh = f"也可以用 `{command}` 或环境变量 {variable} 指定同一文件的镜像。"
        zh = (f"[!] 服务器很慢：按现在的速度（{_speed(rate)}），{self.filename} 剩下的 "
              f"{_megabytes(left_bytes)} 还要大约 {_duration_zh(left_s)}。可以继续等；按 Ctrl-C "
              f"是安全的：已下载的部分留在 {self.part.name}，再运行同一条命令会接着下载。也可以用浏览器"
              f"或下载工具下载 {self.url}（或同一文件的镜像），文件名保持 {self.filename}，放进 "
              f"{self.root}，再运行同一条命令：它会校验（{check}）并解压。{mirror_zh}")
        en = (f"The server is slow: at {_speed(rate)} the remaining {_megabytes(left_bytes)} of "
              f"{self.filename} take about {_duration(left_s)}. You can wait; Ctrl-C is safe: "
              f"what arrived stays in {self.part.name}, and running the same command again "
              f"continues from there. Or download {self.url} (or the same file from a mirror) "
              f"with any browser or download manager, put it, named exactly {self.filename}, at "
              f"{target}, and run the same command again: it checks it ({check}) and unpacks "
              f"it.{mirror_en}")
        # the Chinese line unwrapped (it has no spaces to break at: a path would be cut)
        return zh + "\n" + textwrap.fill("    " + en, width=100, break_on_hyphens=False,
                                         break_long_words=False, subsequent_indent="    ")


# What browsers do to a download: Chrome and Edge add " (1)" when the name is taken, Firefox
# "(1)"; unfinished downloads end in .crdownload (Chrome, Edge), .download (Safari), .partial.
UNFINISHED_DOWNLOAD_SUFFIXES = (".crdownload", ".download", ".partial")


def near_miss_archives(root: Path, filename: str) -> list[Path]:
    """Files in ``root`` named like ``filename`` but not exactly it ("hymenoptera_data (1).zip",
    "cifar-10-python(1).tar.gz", "cifar-10-python.tar.gz.crdownload"), our own .part (and its
    .part.json) aside."""
    stem = filename.split(".")[0].lower()
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    ours = (filename, filename + ".part", filename + ".part.json")
    return sorted(p for p in entries if p.name.lower().startswith(stem) and p.name not in ours
                  and p.is_file())


def near_miss_message(root: Path, filename: str, near: list[Path]) -> str:
    """Exactly what to rename, for the files near_miss_archives found."""
    advice = []
    for path in near:
        if path.name.lower().endswith(UNFINISHED_DOWNLOAD_SUFFIXES):
            advice.append(f"{path} looks like an unfinished browser download: let it finish "
                          f"(or download again), then rename the file to exactly {filename}")
        else:
            advice.append(f"rename {path} to exactly {filename} (a browser adds \" (1)\" when "
                          "a file of that name was already there)")
    return (f"{root / filename} is not there, but a file with a similar name is: "
            + "; ".join(advice) + ". If that is the file you downloaded, the next run checks "
            "and unpacks it; if not, delete it. Nothing was downloaded meanwhile")


def extract_verified(archive: Path, root: Path, folder_name: str, check,
                     ours: set[str]) -> Path:
    """Unpack ``archive`` into a temporary folder beside ``root/folder_name``, run
    ``check(folder)`` (a problem string or None) and only then rename it into place.

    A truncated or corrupt archive is reported, removed, and leaves nothing behind. An existing
    ``folder_name`` is replaced only once the new one is complete; whatever in it is not in
    ``ours`` (the files the project wrote there, relative paths) is moved aside, never deleted
    (``replace_folder``).
    """
    from torchvision.datasets.utils import extract_archive

    target = root / folder_name
    with replacing_folder(target, ours) as new:
        try:  # the archive holds folder_name/: unpacked beside new, it becomes new
            extract_archive(str(archive), str(new.parent))
        except Exception as err:  # zipfile.BadZipFile, tarfile.ReadError, EOFError, zlib.error...
            problem = f"it cannot be unpacked ({type(err).__name__}: {err})"
        else:
            problem = check(new) if new.is_dir() else f"it has no {folder_name}/ folder inside"
        if problem:
            archive.unlink(missing_ok=True)
            raise DownloadFailed(f"{archive.name} is damaged or not the right file: {problem}. "
                                 "It has been removed; download it again")
    return target
