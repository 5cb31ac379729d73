"""Downloads against a slow, flaky or wrong server (issue 23), with no network: a local HTTP
server on 127.0.0.1 serves small archives in the real layouts, with switches for Range support,
throttling, dropped connections, 503 answers, web pages, a file that changes, and stalls.

Every test shrinks the waits (timeouts, backoff, the slow-server check) so the file runs in a few
seconds; none sleeps for long."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from conftest import load_lesson
from tudui import data, paths
from tudui.errors import CourseError
from tudui.infra import cifar10_files, downloads, hymenoptera_files
from tudui.infra.cifar10_files import CIFAR10_ARCHIVE, CIFAR10_DIR, CIFAR10_FILES
from tudui.infra.cifar10_stand_in import write_synthetic_cifar10
from tudui.infra.hymenoptera_files import HYMENOPTERA_ARCHIVE, HYMENOPTERA_DIR, QUICK_COUNTS
from tudui.infra.markers import SYNTHETIC_MARKER, is_synthetic

PART = CIFAR10_ARCHIVE + ".part"
RECORD = CIFAR10_ARCHIVE + ".part.json"
WEB_PAGE = b"<!DOCTYPE html>\n<html><head><title>Login</title></head><body>" + b"x" * 2_000_000


def md5(raw: bytes) -> str:
    return hashlib.md5(raw).hexdigest()


# ---------------------------------------------------------------- the archives and the server

@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict:
    """Small archives in the real layouts: CIFAR-10 (about 240 kB, its own md5s) and the
    ants/bees zip (quick counts), plus a second, different CIFAR-10 archive."""
    made = tmp_path_factory.mktemp("archives")
    result = {}
    for name, seed in (("cifar", 0), ("cifar_changed", 1)):
        folder = write_synthetic_cifar10(made / name, 50, 20, seed=seed)
        (folder / SYNTHETIC_MARKER).unlink()
        with tarfile.open(made / f"{name}.tar.gz", "w:gz") as tar:
            tar.add(folder, arcname=CIFAR10_DIR)
        result[name] = (made / f"{name}.tar.gz").read_bytes()
        result[name + "_files"] = {n: md5((folder / n).read_bytes()) for n in CIFAR10_FILES}
    source = made / "ants"
    hymenoptera_files.write_synthetic_hymenoptera(source, quick=True, seed=3)
    (source / HYMENOPTERA_DIR / SYNTHETIC_MARKER).unlink()
    result["zip"] = Path(shutil.make_archive(str(made / "hymenoptera_data"), "zip",
                                             root_dir=source, base_dir=HYMENOPTERA_DIR)).read_bytes()
    return result


class Switches:
    """How the server misbehaves (with the file at ``path``), and what it was asked. Offsets
    are bytes of the file."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.path = "/cifar-10-python.tar.gz"  # the file the switches below apply to
        self.ranges = True          # answer Range requests with 206
        self.etag = True            # send an ETag...
        self.if_range = True        # ...and honour If-Range (send it all when the file changed)
        self.bytes_per_s = None     # throttle
        self.drop_at: list[int] = []   # close the connection at these offsets, once each
        self.stall_at: list[int] = []  # go silent at these offsets, once each...
        self.stall_resumes = False     # ...or at the start of every answer to a Range request
        self.statuses: list[int] = []  # answers before any file: e.g. [503, 503]
        self.refuse_resumes = None  # answer Range requests with this status (a server gone bad)
        self.content_type = "application/gzip"
        self.requests: list[dict] = []
        self.release = threading.Event()

    def etag_of(self, body: bytes) -> str:
        return f'"{md5(body)[:16]}"'


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        switches: Switches = self.server.switches
        switches.requests.append({"path": self.path, "range": self.headers.get("Range"),
                                  "if_range": self.headers.get("If-Range")})
        if switches.statuses:
            self.send_error(switches.statuses.pop(0))
            return
        body = switches.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        etag, start = switches.etag_of(body), 0
        wanted = self.headers.get("Range")
        if wanted and switches.refuse_resumes and self.path == switches.path:
            self.send_error(switches.refuse_resumes)
            return
        if wanted and switches.ranges and (not switches.if_range or self.headers.get("If-Range")
                                           in (None, etag)):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Type", switches.content_type)
        self.send_header("Content-Length", str(len(body) - start))
        if switches.etag:
            self.send_header("ETag", etag)
        if switches.ranges:
            self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        try:
            if self.path == switches.path:
                self.send_body(switches, body, start)
            else:
                self.wfile.write(body[start:])
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_body(self, switches: Switches, body: bytes, offset: int) -> None:
        if switches.stall_resumes and offset > 0:
            switches.release.wait(5)
            return
        while offset < len(body):
            end = min(len(body), offset + 8192)
            for point in switches.drop_at + switches.stall_at:
                if offset < point <= end:
                    end = point
            self.wfile.write(body[offset:end])
            self.wfile.flush()
            sent, offset = end - offset, end
            if offset in switches.drop_at:
                switches.drop_at.remove(offset)
                return  # HTTP/1.0: the connection closes here, short of Content-Length
            if offset in switches.stall_at:
                switches.stall_at.remove(offset)
                switches.release.wait(5)
                return
            if switches.bytes_per_s:
                time.sleep(sent / switches.bytes_per_s)


@pytest.fixture
def server():
    """(switches, base URL) of a server on 127.0.0.1 that serves ``switches.files``."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.switches = Switches()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield httpd.switches, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.switches.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def quick_waits(monkeypatch):
    """Seconds become tenths: timeouts, backoff; the slow-server check and the plain progress
    lines are off unless a test turns them on. No proxy, no mirrors from the environment."""
    monkeypatch.setattr(downloads, "DOWNLOAD_TIMEOUT_S", 2.0)
    monkeypatch.setattr(downloads, "BACKOFF_S", 0.01)
    monkeypatch.setattr(downloads, "BACKOFF_MAX_S", 0.05)
    monkeypatch.setattr(downloads, "SLOW_CHECK_AFTER_S", 1e9)
    monkeypatch.setattr(downloads, "PROGRESS_EVERY_S", 1e9)
    monkeypatch.setattr(downloads, "CHUNK_BYTES", 8192)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY", cifar10_files.CIFAR10_URL_ENV, hymenoptera_files.HYMENOPTERA_URL_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def site(server, archives, monkeypatch):
    """The server with both archives, the official URLs pointing at it and the expected
    checksums those of the small archives. Returns (switches, base URL)."""
    switches, base = server
    switches.files = {"/cifar-10-python.tar.gz": archives["cifar"],
                      "/hymenoptera_data.zip": archives["zip"]}
    monkeypatch.setattr(cifar10_files, "CIFAR10_URL", f"{base}/cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar10_files, "CIFAR10_MD5", md5(archives["cifar"]))
    monkeypatch.setattr(cifar10_files, "PUBLISHED_MD5", archives["cifar_files"])
    monkeypatch.setattr(hymenoptera_files, "HYMENOPTERA_URL", f"{base}/hymenoptera_data.zip")
    monkeypatch.setattr(hymenoptera_files, "REAL_COUNTS", QUICK_COUNTS)
    return switches, base


def cifar_requests(switches: Switches) -> list[tuple[str | None, str | None]]:
    """(Range, If-Range) of every request for the CIFAR-10 archive, in order."""
    return [(r["range"], r["if_range"]) for r in switches.requests
            if r["path"] == "/cifar-10-python.tar.gz"]


def prepare(root: Path, *args: str) -> int:
    """Run 00_prepare_data as a learner would; its exit code (0 when main returns)."""
    try:
        load_lesson("00_prepare_data").main(["--data-root", str(root), *args])
    except SystemExit as exit_:
        return exit_.code
    return 0


def assert_real_cifar(root: Path, archives: dict) -> None:
    """The archive is the served one (md5) and unpacked, no leftovers of the download."""
    assert md5((root / CIFAR10_ARCHIVE).read_bytes()) == md5(archives["cifar"])
    folder = root / CIFAR10_DIR
    assert not is_synthetic(folder) and cifar10_files.cifar10_folder_problem(folder) is None
    assert not (root / PART).exists() and not (root / RECORD).exists()
    assert len(data.CIFAR10(root, train=False)) == 20


def nothing_unpacked(root: Path) -> bool:
    return not (root / CIFAR10_DIR).exists() and not any(
        p.name.startswith(".") and p.is_dir() for p in root.iterdir())


def one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- resume

def test_a_drop_at_80_percent_resumes_there_in_the_same_run(tmp_path, site, archives, capsys):
    switches, base = site
    size = len(archives["cifar"])
    at = size * 8 // 10
    switches.drop_at = [at]
    root = tmp_path / "dataset"
    assert prepare(root) == 0
    assert cifar_requests(switches) == [(None, None), (f"bytes={at}-", switches.etag_of(
        archives["cifar"]))]
    out = capsys.readouterr().out
    assert f"the connection closed after {at / 1e6:.1f} MB of {size / 1e6:.1f} MB; 重试 / " \
           f"trying again in 0.01 s, continuing at {at / 1e6:.1f} MB" in out
    assert f"继续下载 / resuming at {at / 1e6:.1f} MB of {size / 1e6:.1f} MB" in out
    assert_real_cifar(root, archives)


def test_a_drop_at_80_percent_resumes_there_on_the_next_run(tmp_path, site, archives, capsys,
                                                            monkeypatch):
    switches, base = site
    size = len(archives["cifar"])
    at = size * 8 // 10
    switches.drop_at = [at]
    switches.refuse_resumes = 503  # ...and then the server is down: this run gives up
    monkeypatch.setattr(downloads, "RETRIES", 0)
    root = tmp_path / "dataset"
    assert prepare(root) == 2
    err = one_line(capsys.readouterr().err)
    assert f"kept {at / 1e6:.1f} MB of {size / 1e6:.1f} MB in {root / PART}: running the same " \
           "command again continues from there" in err
    assert "the server answered 503 Service Unavailable; gave up after 1 try that got no " \
           "further" in err and "Traceback" not in err
    # kept: the bytes so far and where they came from; nothing unpacked
    assert (root / PART).read_bytes() == archives["cifar"][:at]
    record = json.loads((root / RECORD).read_text())
    assert record == {"url": f"{base}/cifar-10-python.tar.gz", "total": size,
                      "etag": switches.etag_of(archives["cifar"]), "last_modified": None}
    assert nothing_unpacked(root)

    switches.requests.clear()
    switches.refuse_resumes = None
    assert prepare(root) == 0
    assert cifar_requests(switches) == [(f"bytes={at}-", switches.etag_of(archives["cifar"]))]
    assert_real_cifar(root, archives)


def test_a_server_without_range_support_starts_over_and_says_so(tmp_path, site, archives,
                                                                capsys):
    switches, base = site
    switches.ranges = False
    half = len(archives["cifar"]) // 2
    switches.drop_at = [half]
    root = tmp_path / "dataset"
    assert prepare(root) == 0
    assert [r for r, _ in cifar_requests(switches)] == [None, f"bytes={half}-"]
    out = capsys.readouterr().out
    assert f"从头下载 / starting over: the server at {base}/cifar-10-python.tar.gz cannot resume " \
           "(it answered the Range request with the whole file)" in out
    assert out.count("starting over") == 1
    assert_real_cifar(root, archives)


def test_a_file_changed_on_the_server_is_not_appended_to(tmp_path, site, archives, capsys,
                                                         monkeypatch):
    switches, base = site
    half = len(archives["cifar"]) // 2
    switches.drop_at = [half]
    switches.refuse_resumes = 503
    monkeypatch.setattr(downloads, "RETRIES", 0)
    root = tmp_path / "dataset"
    assert prepare(root) == 2
    switches.refuse_resumes = None
    old_etag = switches.etag_of(archives["cifar"])
    # the server now has another file (a new version: other bytes, other size, other ETag)
    switches.files["/cifar-10-python.tar.gz"] = archives["cifar_changed"]
    monkeypatch.setattr(cifar10_files, "CIFAR10_MD5", md5(archives["cifar_changed"]))
    monkeypatch.setattr(cifar10_files, "PUBLISHED_MD5", archives["cifar_changed_files"])
    switches.requests.clear()
    capsys.readouterr()
    assert prepare(root) == 0
    # asked for the rest "if it is still the same file" (If-Range): the server sent it all
    assert cifar_requests(switches) == [(f"bytes={half}-", old_etag)]
    assert "starting over: the file at" in capsys.readouterr().out
    assert md5((root / CIFAR10_ARCHIVE).read_bytes()) == md5(archives["cifar_changed"])
    assert not (root / PART).exists() and not (root / RECORD).exists()


@pytest.mark.parametrize("new_size", ["larger", "smaller than the .part"])
def test_a_file_of_another_size_is_not_appended_to_even_when_the_server_would(
        tmp_path, site, archives, capsys, monkeypatch, new_size):
    switches, base = site
    switches.if_range = False  # this server gives any range of whatever file it has now
    half = len(archives["cifar"]) // 2
    switches.drop_at = [half]
    switches.refuse_resumes = 503
    monkeypatch.setattr(downloads, "RETRIES", 0)
    root = tmp_path / "dataset"
    assert prepare(root) == 2
    switches.refuse_resumes = None
    new = archives["cifar"] + bytes(1000) if new_size == "larger" else archives["cifar"][:1000]
    switches.files["/cifar-10-python.tar.gz"] = new
    switches.requests.clear()
    capsys.readouterr()
    # no md5 here: looks_valid tells the new file from one glued onto the old .part
    downloads.fetch_archive(root, f"{base}/cifar-10-python.tar.gz", CIFAR10_ARCHIVE, None,
                            looks_valid=lambda path: None if path.read_bytes() == new
                            else "appended to the old file")
    # asked for the rest, saw another size in the answer (206 or 416), asked for all of it
    assert [r for r, _ in cifar_requests(switches)] == [f"bytes={half}-", None]
    out = capsys.readouterr().out
    answer = "changed since cifar-10-python.tar.gz.part was started" if new_size == "larger" \
        else "the server answered 416 Requested Range Not Satisfiable to a resume request"
    assert f"从头下载 / starting over: {answer}" in out or \
        f"从头下载 / starting over: the file at {base}/cifar-10-python.tar.gz {answer}" in out, out
    assert (root / CIFAR10_ARCHIVE).read_bytes() == new
    assert not (root / PART).exists() and not (root / RECORD).exists()


def test_a_changed_file_the_server_cannot_tell_fails_md5_then_downloads_once_afresh(
        tmp_path, site, archives, capsys, monkeypatch):
    switches, base = site
    switches.etag = False  # no ETag, the same size: the change shows only in the md5
    body = archives["cifar"]
    half = len(body) // 2
    switches.drop_at = [half]
    changed_first_half = bytes(b ^ 0xFF for b in body[8:half])
    switches.files["/cifar-10-python.tar.gz"] = body[:8] + changed_first_half + body[half:]
    switches.refuse_resumes = 503
    monkeypatch.setattr(downloads, "RETRIES", 0)
    root = tmp_path / "dataset"
    assert prepare(root) == 2
    switches.refuse_resumes = None
    switches.files["/cifar-10-python.tar.gz"] = body  # the server's copy is good again
    switches.requests.clear()
    capsys.readouterr()
    assert prepare(root) == 0
    assert cifar_requests(switches) == [(f"bytes={half}-", None), (None, None)]
    out = one_line(capsys.readouterr().out)
    assert "was assembled from several tries and its md5 checksum does not match: removed; " \
           "downloading it once more from the start" in out
    assert_real_cifar(root, archives)


def test_a_part_from_another_url_is_not_appended_to(tmp_path, site, archives, capsys):
    switches, base = site
    root = tmp_path / "dataset"
    root.mkdir()
    (root / PART).write_bytes(archives["cifar"][:1000])
    (root / RECORD).write_text(json.dumps({"url": "https://elsewhere.example/c.tar.gz",
                                           "total": len(archives["cifar"])}))
    assert prepare(root) == 0
    assert cifar_requests(switches) == [(None, None)]
    assert f"starting over: {PART} came from another URL (https://elsewhere.example/c.tar.gz)" \
        in capsys.readouterr().out
    assert_real_cifar(root, archives)


def test_an_archive_placed_by_hand_wins_over_an_unfinished_download(tmp_path, site, archives):
    switches, base = site
    root = tmp_path / "dataset"
    root.mkdir()
    (root / PART).write_bytes(archives["cifar"][:1000])
    (root / RECORD).write_text("{}")
    (root / CIFAR10_ARCHIVE).write_bytes(archives["cifar"])
    assert cifar10_files.prepare_real_cifar10(root)[1].startswith("found")
    assert cifar_requests(switches) == []
    assert_real_cifar(root, archives)


# ---------------------------------------------------------------- slow, stalled, 503

def test_a_throttled_download_shows_speed_time_left_and_the_slow_paragraph_once(
        tmp_path, site, archives, capsys, monkeypatch):
    switches, base = site
    size = len(archives["cifar"])
    switches.bytes_per_s = size / 0.5  # the whole archive in about half a second
    monkeypatch.setattr(downloads, "PROGRESS_EVERY_S", 0.08)
    monkeypatch.setattr(downloads, "SLOW_CHECK_AFTER_S", 0.1)  # "about 30 s", shrunk
    monkeypatch.setattr(downloads, "SLOW_WHEN_LEFT_S", 0.05)   # "about 10 minutes", shrunk
    root = tmp_path / "dataset"
    assert prepare(root) == 0
    out = capsys.readouterr().out
    progress = [line for line in out.splitlines() if f"/ {size / 1e6:.1f} MB (" in line]
    assert len(progress) >= 2, out
    assert all("kB/s" in line and " left / 还剩约 " in line for line in progress), progress
    assert out.count("The server is slow") == 1 and out.count("服务器很慢") == 1
    paragraph = one_line(out[out.index("服务器很慢"):])
    for needed in ("the remaining", f"of {CIFAR10_ARCHIVE} take about", "Ctrl-C is safe",
                   f"stays in {PART}", "running the same command again continues",
                   f"Or download {base}/cifar-10-python.tar.gz", "any browser or download manager",
                   f"named exactly {CIFAR10_ARCHIVE}, at {root / CIFAR10_ARCHIVE}", "(md5)",
                   f"`python src/00_prepare_data.py --url URL --data-root {root}`, or the "
                   "environment variable TUDUI_CIFAR10_URL", "或环境变量 TUDUI_CIFAR10_URL 指定",
                   "按 Ctrl-C 是安全的", "下载工具"):
        assert needed in paragraph, needed
    assert f"下载完成 / downloaded {size / 1e6:.1f} MB in" in out
    assert_real_cifar(root, archives)


def test_a_fast_download_says_nothing_about_slowness(tmp_path, site, archives, capsys,
                                                     monkeypatch):
    monkeypatch.setattr(downloads, "SLOW_CHECK_AFTER_S", 0.0)  # judged from the first chunk on
    monkeypatch.setattr(downloads, "SLOW_WHEN_LEFT_S", 60.0)
    assert prepare(tmp_path / "dataset") == 0
    assert "slow" not in capsys.readouterr().out


def test_on_a_terminal_the_bar_shows_megabytes_speed_and_time_left(tmp_path, site, archives,
                                                                   monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(downloads, "BAR_REFRESH_S", 0.02)
    site[0].bytes_per_s = len(archives["cifar"]) / 0.3
    root = tmp_path / "dataset"
    downloads.fetch_archive(root, cifar10_files.CIFAR10_URL, CIFAR10_ARCHIVE,
                            md5(archives["cifar"]))
    shown = terminal.getvalue()
    assert f"{CIFAR10_ARCHIVE}:" in shown and "kB / 2" in shown and "B/s" in shown
    assert re.search(r"B/s, 00:0\d left", shown), shown


def test_a_stall_longer_than_the_timeout_is_retried_with_resume(tmp_path, site, archives,
                                                                capsys, monkeypatch):
    switches, base = site
    monkeypatch.setattr(downloads, "DOWNLOAD_TIMEOUT_S", 0.2)
    half = len(archives["cifar"]) // 2
    switches.stall_at = [half]
    root = tmp_path / "dataset"
    assert prepare(root) == 0
    assert [r for r, _ in cifar_requests(switches)] == [None, f"bytes={half}-"]
    assert f"no data for 0.2 s (timed out) after {half / 1e6:.1f} MB" in capsys.readouterr().out
    assert_real_cifar(root, archives)


def test_a_server_that_keeps_stalling_is_given_up_and_the_part_kept(tmp_path, site, archives,
                                                                     capsys, monkeypatch):
    switches, base = site
    monkeypatch.setattr(downloads, "DOWNLOAD_TIMEOUT_S", 0.1)
    monkeypatch.setattr(downloads, "RETRIES", 2)
    half = len(archives["cifar"]) // 2
    switches.drop_at = [half]
    switches.stall_resumes = True  # every try to continue meets a server that says nothing
    root = tmp_path / "dataset"
    assert prepare(root) == 2
    assert [r for r, _ in cifar_requests(switches)] == [None] + [f"bytes={half}-"] * 3
    err = one_line(capsys.readouterr().err)
    assert "no data for 0.1 s (timed out)" in err and "gave up after 3 tries" in err
    assert f"kept {half / 1e6:.1f} MB of" in err
    assert (root / PART).stat().st_size == half and (root / RECORD).is_file()
    assert nothing_unpacked(root)


def test_503_answers_are_retried_with_backoff(tmp_path, site, archives, capsys):
    switches, base = site
    switches.statuses = [503, 503]
    root = tmp_path / "dataset"
    assert prepare(root, "--hymenoptera-url", f"{base}/hymenoptera_data.zip") == 0
    # the first two answers (to the zip) were 503s; both archives arrived
    assert len(switches.requests) == 4
    assert capsys.readouterr().out.count("the server answered 503 Service Unavailable; 重试") == 2
    assert_real_cifar(root, archives)
    assert hymenoptera_files.hymenoptera_is_real(root)


def test_a_server_that_only_answers_503_is_given_up_leaving_nothing(tmp_path, site, archives,
                                                                    capsys, monkeypatch):
    switches, base = site
    monkeypatch.setattr(downloads, "RETRIES", 2)
    switches.statuses = [503] * 6
    root = tmp_path / "dataset"
    assert prepare(root) == 2
    err = one_line(capsys.readouterr().err)
    assert "the server answered 503 Service Unavailable; gave up after 3 tries" in err
    assert sorted(p.name for p in root.iterdir()) == [], "no .part: nothing arrived"


# ---------------------------------------------------------------- web pages and mirrors

@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/octet-stream"])
def test_a_web_page_is_refused_from_its_first_bytes_and_not_saved(tmp_path, site, archives,
                                                                  capsys, monkeypatch,
                                                                  content_type):
    switches, base = site
    judged = []  # how many bytes of each answer were read before it was judged
    real_check = downloads.not_the_archive

    def check(filename, type_, first):
        judged.append(len(first))
        return real_check(filename, type_, first)

    monkeypatch.setattr(downloads, "not_the_archive", check)
    switches.files["/pan/share"] = WEB_PAGE
    switches.content_type = content_type
    root = tmp_path / "dataset"
    assert prepare(root, "--url", f"{base}/pan/share") == 0  # then the official URL
    out = one_line(capsys.readouterr().out)
    mime = content_type.split(";")[0]
    assert f"[!] this URL gives a web page, not the archive (Content-Type: {mime}, it starts " \
           "with '<!DOCTYPE html> <html><head><title>Login</title>'): a login, error or " \
           "\"click to download\" page" in out
    assert "trying the next URL" in out
    assert 0 < judged[0] <= 8192, "judged from the first chunk, the 2 MB page not read on"
    assert [r["path"] for r in switches.requests][-2:] == ["/pan/share", "/cifar-10-python.tar.gz"]
    assert_real_cifar(root, archives)


def test_a_web_page_alone_fails_with_the_message_and_leaves_nothing(tmp_path, site, capsys,
                                                                    monkeypatch):
    switches, base = site
    switches.files["/cifar-10-python.tar.gz"] = WEB_PAGE
    switches.content_type = "text/html"
    root = tmp_path / "dataset"
    assert prepare(root) == 2
    err = one_line(capsys.readouterr().err)
    assert "this URL gives a web page, not the archive" in err and "Traceback" not in err
    assert not (root / PART).exists() and not (root / RECORD).exists()
    assert not (root / CIFAR10_ARCHIVE).exists() and nothing_unpacked(root)


def test_mirrors_are_tried_in_order_each_checked_by_md5(tmp_path, site, archives, capsys,
                                                        monkeypatch):
    switches, base = site
    switches.files["/wrong.tar.gz"] = archives["cifar_changed"]   # a mirror with another file
    switches.files["/good.tar.gz"] = archives["cifar"]
    monkeypatch.setenv("TUDUI_CIFAR10_URL", f"{base}/good.tar.gz  {base}/unused.tar.gz")
    root = tmp_path / "dataset"
    assert prepare(root, "--url", f"{base}/missing.tar.gz", "--url", f"{base}/wrong.tar.gz") == 0
    asked = [r["path"] for r in switches.requests if r["path"] != "/hymenoptera_data.zip"]
    assert asked == ["/missing.tar.gz", "/wrong.tar.gz", "/good.tar.gz"]  # not the official one
    out = one_line(capsys.readouterr().out)
    assert "the server answered 404 Not Found; trying the next URL" in out
    assert f"the file downloaded from {base}/wrong.tar.gz is not {CIFAR10_ARCHIVE} (its md5 " \
           "checksum does not match); it has been removed" in out
    assert_real_cifar(root, archives)


def test_when_every_url_fails_each_is_named(tmp_path, site, capsys, monkeypatch):
    switches, base = site
    monkeypatch.setenv("TUDUI_CIFAR10_URL", f"{base}/gone.tar.gz")
    switches.files.pop("/cifar-10-python.tar.gz")
    root = tmp_path / "dataset"
    assert prepare(root) == 2
    err = one_line(capsys.readouterr().err)
    assert f"downloading {base}/gone.tar.gz failed (the server answered 404 Not Found); " \
           f"downloading {base}/cifar-10-python.tar.gz failed" in err
    assert "--url URL" in err and "再运行同一条命令会接着下载" in err


def test_a_bad_mirror_address_is_refused_clearly(tmp_path, site, capsys, monkeypatch):
    assert prepare(tmp_path / "a", "--url", "ftp://example.org/x") == 2
    assert "argument --url: 'ftp://example.org/x' is not a download address" in \
        capsys.readouterr().err
    monkeypatch.setenv("TUDUI_CIFAR10_URL", "www.example.org/cifar.tar.gz")
    assert prepare(tmp_path / "b") == 2
    assert "'www.example.org/cifar.tar.gz' (from TUDUI_CIFAR10_URL) is not a download address" \
        in one_line(capsys.readouterr().err)


def test_the_ants_bees_zip_has_its_own_mirror_variable_and_resumes(tmp_path, site, archives,
                                                                  capsys, monkeypatch):
    switches, base = site
    switches.files["/mirror/hymenoptera_data.zip"] = archives["zip"]
    switches.path = "/mirror/hymenoptera_data.zip"
    half = len(archives["zip"]) // 2
    switches.drop_at = [half]
    monkeypatch.setenv("TUDUI_HYMENOPTERA_URL", f"{base}/mirror/hymenoptera_data.zip")
    root = tmp_path / "dataset"
    assert prepare(root) == 0
    asked = [(r["path"], r["range"]) for r in switches.requests]
    assert asked[:2] == [("/mirror/hymenoptera_data.zip", None),
                         ("/mirror/hymenoptera_data.zip", f"bytes={half}-")]
    assert (root / HYMENOPTERA_ARCHIVE).read_bytes() == archives["zip"]
    assert hymenoptera_files.hymenoptera_is_real(root)  # CRCs and counts checked


# ---------------------------------------------------------------- the lessons' download=True

def test_a_lessons_download_keeps_its_part_and_the_next_lesson_resumes(tmp_path, site, archives,
                                                                       monkeypatch):
    switches, base = site
    at = len(archives["cifar"]) * 8 // 10
    switches.drop_at = [at]
    switches.refuse_resumes = 503
    monkeypatch.setattr(downloads, "RETRIES", 0)
    root = tmp_path / "dataset"
    with pytest.raises(CourseError) as info:
        data.CIFAR10(root, train=False, download=True)
    switches.refuse_resumes = None
    assert f"kept {at / 1e6:.1f} MB" in info.value.en and "continues from there" in info.value.en
    assert (root / PART).stat().st_size == at
    dataset = data.CIFAR10(root, train=False, download=True)
    assert len(dataset) == 20
    assert [r for r, _ in cifar_requests(switches)] == [None, f"bytes={at}-", f"bytes={at}-"]
    assert_real_cifar(root, archives)


# ---------------------------------------------------------------- Ctrl-C

DRIVER = """
import sys
sys.path.insert(0, {src!r})
from tudui.infra import cifar10_files, downloads, hymenoptera_files
from tudui.paths import import_lesson
cifar10_files.CIFAR10_URL = {url!r}
cifar10_files.CIFAR10_MD5 = {md5!r}
cifar10_files.PUBLISHED_MD5 = {files!r}
hymenoptera_files.HYMENOPTERA_URL = {zip_url!r}
hymenoptera_files.REAL_COUNTS = {counts!r}
downloads.CHUNK_BYTES = 8192
import_lesson("00_prepare_data").main(["--data-root", {root!r}])
"""


@pytest.mark.skipif(os.name == "nt", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_keeps_the_part_says_so_in_one_line_and_the_next_run_continues(
        tmp_path, site, archives):
    switches, base = site
    half = len(archives["cifar"]) // 2
    switches.stall_at = [half]  # the server goes quiet at half: Ctrl-C arrives there
    root = tmp_path / "dataset"
    hymenoptera_files.prepare_real_hymenoptera(root)  # here: the child only fetches CIFAR-10
    hymenoptera_files.derive_course_layout(root)
    driver = DRIVER.format(src=str(paths.SRC_DIR), url=f"{base}/cifar-10-python.tar.gz",
                           md5=md5(archives["cifar"]), files=archives["cifar_files"],
                           zip_url=f"{base}/hymenoptera_data.zip", counts=QUICK_COUNTS,
                           root=str(root))
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    child = subprocess.Popen([sys.executable, "-c", driver], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 20
        while not ((root / PART).is_file() and (root / PART).stat().st_size == half):
            assert child.poll() is None and time.monotonic() < deadline, child.communicate()
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    size = len(archives["cifar"])
    assert err.strip().splitlines() == [
        f"已中断下载 / download interrupted (Ctrl-C): kept {half / 1e6:.1f} MB of "
        f"{size / 1e6:.1f} MB in {root / PART}; run the same command again to continue / "
        "再运行同一条命令即可继续"]
    assert (root / PART).read_bytes() == archives["cifar"][:half] and (root / RECORD).is_file()
    assert nothing_unpacked(root)

    switches.requests.clear()
    assert prepare(root) == 0  # the same command again
    assert cifar_requests(switches) == [(f"bytes={half}-", switches.etag_of(archives["cifar"]))]
    assert_real_cifar(root, archives)


def test_no_process_wide_socket_timeout_anywhere():
    """A timeout belongs to each connection: socket.setdefaulttimeout would change every socket
    of the process (TensorBoard's server, torch.distributed) behind their backs."""
    users = [str(p) for folder in ("src", "benchmarks", "tests")
             for p in (paths.REPO_ROOT / folder).rglob("*.py")
             if "setdefaulttimeout" in p.read_text(encoding="utf-8") and p != Path(__file__)]
    assert users == []


def test_pretrained_weights_come_the_same_way_resumed_and_checked_by_their_name(
        tmp_path, server, capsys):
    """25's VGG16 weights (528 MB) go through the same download: dropped at 80%, continued,
    and checked by the sha256 prefix torch.hub reads from the file name."""
    switches, base = server
    weights = bytes(range(256)) * 800
    name = f"vgg16-{hashlib.sha256(weights).hexdigest()[:8]}.pth"
    switches.path = f"/models/{name}"
    switches.files = {f"/models/{name}": weights, "/models/vgg16-00000000.pth": weights}
    at = len(weights) * 8 // 10
    switches.drop_at = [at]
    cache = tmp_path / "hub" / "checkpoints"
    path = downloads.fetch_checkpoint(f"{base}/models/{name}", cache)
    assert path == cache / name and path.read_bytes() == weights
    assert [r["range"] for r in switches.requests] == [None, f"bytes={at}-"]
    assert sorted(p.name for p in cache.iterdir()) == [name]
    with pytest.raises(downloads.DownloadFailed, match="its sha256 does not start with 00000000"):
        downloads.fetch_checkpoint(f"{base}/models/vgg16-00000000.pth", cache)
    assert sorted(p.name for p in cache.iterdir()) == [name]
