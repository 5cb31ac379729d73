"""Expected failures (missing data, no GPU, bad checkpoint, a full disk...) as one actionable
paragraph and exit code 2, Ctrl-C as one line: what ``@friendly_errors`` does around main()."""

from __future__ import annotations

import functools
import os
import sys
import threading

from tudui.infra.console import INTERRUPTED, practice_gap, printable_chinese
from tudui.infra.course_error import CourseError, shorten
from tudui.infra.oserrors import os_error

EXIT_CODE = 2
SKIP_EXIT_CODE = 3  # the lesson runner reports this as "skipped", not "failed"
INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT: what shells report for a program stopped by Ctrl-C
CLOSED_OUTPUT_EXIT_CODE = 141  # 128 + SIGPIPE: `lesson | head -1`, the reader left

__all__ = ["CLOSED_OUTPUT_EXIT_CODE", "EXIT_CODE", "INTERRUPTED", "INTERRUPTED_EXIT_CODE",
           "SKIP_EXIT_CODE", "CourseError", "SkipLesson", "friendly_errors", "shorten"]
# CourseError and shorten are defined in tudui.infra.course_error (oserrors builds CourseErrors
# too, and this module imports oserrors): import them from here.


class SkipLesson(CourseError):
    """The lesson cannot run on this machine (e.g. it needs a GPU): exit 3, shown as skipped."""


def friendly_errors(main):
    """Decorate a lesson's main(): CourseError (and the OS failures a learner can fix, see
    ``tudui.infra.oserrors``) print a paragraph and exit 2 (3: skipped); Ctrl-C prints one line
    and exits 130; output whose reader has gone (``| head -1``) ends the lesson quietly (141).

    The undecorated function stays reachable as ``main.__wrapped__`` so tests can assert on the
    CourseError itself.
    """

    @functools.wraps(main)
    def wrapper(argv=None):
        for stream in (sys.stdout, sys.stderr):
            printable_chinese(stream)
        _quiet_writer_threads()
        try:
            result = main(argv)
            if _writer_failures:  # TensorBoard's writer thread failed, nothing raised it here
                raise _writer_failures[0]
            sys.stdout.flush()  # a closed pipe shows up now, not in Python's exit
            return result
        except BrokenPipeError:
            _stop_writing_to_closed_output()
        except CourseError as err:
            print("\n" + err.paragraph(), file=sys.stderr)
            raise SystemExit(SKIP_EXIT_CODE if isinstance(err, SkipLesson) else EXIT_CODE) from None
        except OSError as err:
            known = os_error(err)
            if known is None:
                raise
            print("\n" + known.paragraph(), file=sys.stderr)
            raise SystemExit(EXIT_CODE) from None
        except KeyboardInterrupt as err:  # a download says what it kept (DownloadInterrupted)
            print("\n" + getattr(err, "line", INTERRUPTED), file=sys.stderr)
            raise SystemExit(INTERRUPTED_EXIT_CODE) from None
        except NotImplementedError as err:
            gap = practice_gap(err)  # a practice file's gap (src/practice.py): one line
            if gap is None:
                raise
            print("\n" + gap, file=sys.stderr)
            raise SystemExit(EXIT_CODE) from None

    return wrapper


def _stop_writing_to_closed_output() -> None:
    """Python's recipe for a closed pipe: what is still buffered goes to the null device
    (else Python's exit reports a second BrokenPipeError), and the lesson ends without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        pass
    raise SystemExit(CLOSED_OUTPUT_EXIT_CODE) from None


_writer_failures: list[OSError] = []


def _quiet_writer_threads() -> None:
    """An OSError (a full disk) in TensorBoard's writer thread is raised again in the lesson at
    its next ``writer.add_...``/``close``, and shown there as one paragraph; the thread's own
    report ("Exception in thread ...", a traceback) is left out. A failure the lesson never
    meets again is raised when main() returns (``friendly_errors``)."""
    _writer_failures.clear()
    if getattr(threading.excepthook, "tudui", False):
        return
    previous = threading.excepthook

    def hook(args):
        thread = type(args.thread)
        if (isinstance(args.exc_value, OSError) and thread.__name__ == "_AsyncWriterThread"
                and thread.__module__.startswith("tensorboard.")):
            _writer_failures.append(args.exc_value)
        else:
            previous(args)

    hook.tudui = True
    threading.excepthook = hook
