"""Reading a pickle's instructions, without running them, to bound what loading it would build.

Unpickling is a small stack machine: the file's instructions build containers out of numbers and
strings. Even with no function allowed, a crafted file can make that machine hurt us before any
check of ours sees the result:

* a tuple nested 200,000 deep used as a dict key: hashing it recurses in C and overflows the
  stack (a segmentation fault, in Python's own unpickler and in torch's ``weights_only`` one);
* an integer of 5,000 digits: printing it in a message raises ValueError;
* a length field declaring 2**62 bytes, or a memo slot numbered 2**31, in a file of a few bytes:
  the unpickler reserves that memory before it finds out the data is not there.

``scan_pickle`` walks the instructions first (a few milliseconds per MB, no object built) and
raises ``PickleRefused`` naming the problem. It tracks how deeply the containers are nested
(a CIFAR-10 batch nests 5 deep, a course checkpoint about 8), checks every length against the bytes
left in the file, every memo slot against the slots used so far, and counts the containers and
objects the file would create. What loading it may then allocate is a small multiple of the
file's own size.

That bound holds only while the functions the file calls build nothing large. A class that is
allowed so that a file may *restore* an object of it (``torch.serialization.safe_globals`` with
``nn.Conv2d``: created empty, then filled from the file) may also be *called* by a crafted file
(``Conv2d(3, 100000, 100)``: 12 GB of weights from a few bytes). Given ``may_call``, which
says of a ``module.name`` whether the file may call it (REDUCE), the scan refuses any other
call, and an object of such a class created from arguments (NEWOBJ with any; NEWOBJ_EX, INST
and OBJ always): torch.save only calls its rebuild functions and creates other objects empty.
"""

from __future__ import annotations

import pickle
import pickletools
from collections.abc import Callable

__all__ = ["PickleRefused", "scan_pickle"]

MAX_INT_BYTES = 16    # a binary integer of up to 128 bits (2**127): indices, sizes, labels
MAX_TEXT_DIGITS = 40  # the same for integers written as text (protocol 0)
HIGHEST_PROTOCOL = 5


class PickleRefused(pickle.UnpicklingError):
    """The pickle would build more than it may (too deep, too large, malformed): not loaded."""


# Per instruction byte: how its argument is stored, as (kind, size): _FIXED (size bytes),
# _LINES (size lines of text) or _SIZED (a length of size[0] bytes, signed or not, then that
# many bytes); and what it does to the stack (an _ACTION). Derived from the standard library's
# own table of instructions.
_FIXED, _LINES, _SIZED = range(3)
(_PLAIN, _PUT, _GET, _NEW, _FROM_MARK, _FILL, _FILL_FROM_MARK, _MARK, _POP, _POP_MARK, _DUP,
 _REPLACE, _NONE, _STOP) = range(14)
_SIZES = {pickletools.TAKEN_FROM_ARGUMENT1: (1, False), pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
          pickletools.TAKEN_FROM_ARGUMENT4U: (4, False), pickletools.TAKEN_FROM_ARGUMENT8U: (8, False)}
_ACTIONS = {
    _PUT: ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"), _GET: ("GET", "BINGET", "LONG_BINGET"),
    _NEW: ("EMPTY_LIST", "EMPTY_TUPLE", "EMPTY_DICT", "EMPTY_SET",   # a new object from n values
           "TUPLE1", "TUPLE2", "TUPLE3", "REDUCE", "NEWOBJ", "NEWOBJ_EX"),
    _FROM_MARK: ("LIST", "TUPLE", "DICT", "FROZENSET", "INST", "OBJ"),  # ... from those after MARK
    _FILL: ("APPEND", "SETITEM", "BUILD"),                  # values put into the object below
    _FILL_FROM_MARK: ("APPENDS", "SETITEMS", "ADDITEMS"),
    _MARK: ("MARK",), _POP: ("POP",), _POP_MARK: ("POP_MARK",), _DUP: ("DUP",),
    _REPLACE: ("STACK_GLOBAL", "BINPERSID", "READONLY_BUFFER"),  # values in, one plain value out
    _NONE: ("PROTO", "FRAME"), _STOP: ("STOP",),
}  # everything else (_PLAIN) pushes one plain value: a number, string, global, persistent id


class _Global(int):
    """On the scan's stack: a value a GLOBAL instruction pushed (nested 0 deep), with its name."""

    def __new__(cls, name: str):
        value = super().__new__(cls, 0)
        value.name = name
        return value


class _EmptyTuple(int):
    """On the scan's stack: an empty tuple (nested 1 deep), the arguments of an object that is
    created empty."""


def _tables() -> tuple[list, list, list, dict]:
    layout, action, taken = [None] * 256, [_PLAIN] * 256, [0] * 256
    codes = {}
    for op in pickletools.opcodes:
        code = op.code.encode("latin1")[0]
        codes[op.name] = code
        arg = op.arg
        if arg is None:
            layout[code] = (_FIXED, 0)
        elif arg.n >= 0:
            layout[code] = (_FIXED, arg.n)
        elif arg.n == pickletools.UP_TO_NEWLINE:
            layout[code] = (_LINES, 2 if arg.name == "stringnl_noescape_pair" else 1)
        else:
            layout[code] = (_SIZED, _SIZES[arg.n])
        # values taken off the stack, for the instructions with a fixed number of them
        taken[code] = sum(1 for s in op.stack_before if s.name not in ("mark", "stackslice"))
    for kind, names in _ACTIONS.items():
        for name in names:
            action[codes[name]] = kind
    return layout, action, taken, codes


_LAYOUT, _ACTION, _TAKEN, _CODE = _tables()
_TEXT_INTS = {_CODE["INT"], _CODE["LONG"]}
_BINARY_INTS = {_CODE["LONG1"], _CODE["LONG4"]}
_PROTO, _GLOBAL, _OBJ, _INST = _CODE["PROTO"], _CODE["GLOBAL"], _CODE["OBJ"], _CODE["INST"]
_REDUCE, _NEWOBJ, _NEWOBJ_EX = _CODE["REDUCE"], _CODE["NEWOBJ"], _CODE["NEWOBJ_EX"]
_TUPLES = {_CODE["EMPTY_TUPLE"], _CODE["TUPLE"]}


def scan_pickle(data: bytes, start: int = 0, *, max_depth: int = 100,
                max_objects: int = 100_000,
                may_call: Callable[[str], bool] | None = None) -> tuple[int, list[str]]:
    """Check the pickle that starts at ``data[start]`` without building anything.

    Returns (the offset just after its STOP, the ``module.name`` of every GLOBAL it names);
    raises PickleRefused when containers nest deeper than ``max_depth``, when it would create
    more than ``max_objects`` containers and objects, or when a length, an integer or a memo
    slot is out of bounds (or the instructions are not a pickle at all). With ``may_call``,
    also when it calls what ``may_call`` refuses, or creates an object of such a class from
    arguments (see the module's docstring).
    """
    end = len(data)
    pos = start
    stack: list[int] = []   # how deeply nested each value on the stack is (0: a plain value)
    marks: list[int] = []   # the stack's length at each MARK still open
    memo: dict[int, int] = {}
    objects = 0
    names: list[str] = []

    def refuse(why: str):
        raise PickleRefused(f"{why} (at byte {pos:,})")

    def take(n: int) -> list[int]:
        """The top ``n`` values (n < 0: all after the last MARK, and the MARK) off the stack."""
        first = (marks.pop() if marks else refuse("values taken from a MARK never set")) \
            if n < 0 else len(stack) - n
        if first < (marks[-1] if marks and n >= 0 else 0):
            refuse("an instruction takes more values than the stack holds")
        items = stack[first:]
        del stack[first:]
        return items

    def nested(items: list[int]) -> int:
        depth = 1 + max(items, default=0)
        if depth > max_depth:
            refuse(f"containers nested more than {max_depth} deep")
        return depth

    while True:
        if pos >= end:
            refuse("the pickle ends without its STOP instruction")
        code = data[pos]
        layout = _LAYOUT[code]
        if layout is None:
            refuse(f"byte {code:#04x} is not a pickle instruction")
        pos += 1
        kind, size = layout
        arg_start = pos
        if kind == _FIXED:
            pos += size
            if pos > end:
                refuse("the file ends inside an instruction")
        elif kind == _SIZED:
            width, signed = size
            if pos + width > end:
                refuse("the file ends inside an instruction")
            length = int.from_bytes(data[pos:pos + width], "little", signed=signed)
            pos += width
            if length < 0 or length > end - pos:
                refuse(f"a length of {length:,} bytes where only {end - pos:,} are left in the file")
            arg_start = pos
            pos += length
            if code in _BINARY_INTS and length > MAX_INT_BYTES:
                refuse(f"an integer of {length:,} bytes (up to {MAX_INT_BYTES} make sense)")
        else:  # one or two lines of text
            for _ in range(size):
                pos = data.find(b"\n", pos, end) + 1
                if pos == 0:
                    refuse("a line of text without its end")
            if code in _TEXT_INTS and pos - arg_start > MAX_TEXT_DIGITS + 2:
                refuse(f"an integer written with {pos - arg_start - 1:,} digits")

        action = _ACTION[code]
        if action == _PLAIN:
            if code == _GLOBAL:
                names.append(_global_name(data, arg_start, pos))
                stack.append(_Global(names[-1]))
            else:
                stack.append(0)
        elif action == _PUT:
            if len(stack) <= (marks[-1] if marks else 0):
                refuse("a memo entry made of nothing")
            if kind == _FIXED:  # BINPUT, LONG_BINPUT (the common ones, inline), MEMOIZE
                slot = data[arg_start] if size == 1 else len(memo) if size == 0 else \
                    int.from_bytes(data[arg_start:pos], "little")
            else:
                slot = _text_slot(data, arg_start, pos, refuse)
            # picklers number the slots 0, 1, 2...: a slot far beyond them would make the
            # unpickler reserve memory for every slot up to it
            if slot > len(memo):
                refuse(f"memo slot {slot:,} while only {len(memo):,} are in use")
            memo[slot] = stack[-1]
        elif action == _GET:
            slot = (data[arg_start] if size == 1 else int.from_bytes(data[arg_start:pos], "little")) \
                if kind == _FIXED else _text_slot(data, arg_start, pos, refuse)
            if slot not in memo:
                refuse(f"memo slot {slot:,} was never filled")
            stack.append(memo[slot])
        elif action == _NEW or action == _FROM_MARK:
            objects += 1
            if objects > max_objects:
                refuse(f"more than {max_objects:,} containers and objects")
            items = take(_TAKEN[code] if action == _NEW else -1)
            if code == _OBJ and not items:
                refuse("OBJ without a class")
            if code == _INST:  # INST names its class as GLOBAL does
                names.append(_global_name(data, arg_start, pos))
            if may_call is not None:
                _check_call(code, items, may_call, refuse)
            depth = nested(items)
            stack.append(_EmptyTuple(depth) if code in _TUPLES and not items else depth)
        elif action == _FILL or action == _FILL_FROM_MARK:
            items = take(_TAKEN[code] - 1 if action == _FILL else -1)
            if len(stack) <= (marks[-1] if marks else 0):
                refuse("values put into nothing")
            stack[-1] = max(stack[-1], nested(items))
        elif action == _MARK:
            marks.append(len(stack))
        elif action == _POP:
            if len(stack) > (marks[-1] if marks else 0):
                stack.pop()
            else:  # Python's unpickler lets POP remove a MARK with nothing after it
                take(-1)
        elif action == _POP_MARK:
            take(-1)
        elif action == _DUP:
            stack.extend(take(1) * 2)
        elif action == _REPLACE:
            take(_TAKEN[code])
            stack.append(0)
        elif action == _STOP:
            if len(stack) != 1 or marks:
                refuse("STOP with more or less than one finished value")
            return pos, names
        elif code == _PROTO and data[arg_start] > HIGHEST_PROTOCOL:
            refuse(f"pickle protocol {data[arg_start]}")


def _check_call(code: int, items: list[int], may_call: Callable[[str], bool], refuse) -> None:
    """Refuse an instruction that calls what ``may_call`` refuses, or creates an object of such
    a class from arguments (``items``: the values it takes off the stack)."""
    if code == _REDUCE:
        function = items[0]
        if not isinstance(function, _Global):
            refuse("a call of something that is not a function named in the file")
        if not may_call(function.name):
            refuse(f"a call of {function.name[:200]} (torch.save calls only the functions that "
                   "rebuild tensors, parameters and containers)")
    elif code == _NEWOBJ and not isinstance(items[1], _EmptyTuple):
        cls = items[0]
        if not (isinstance(cls, _Global) and may_call(cls.name)):
            name = cls.name[:200] if isinstance(cls, _Global) else "an object"
            refuse(f"{name} created from arguments in the file instead of restored")
    elif code in (_NEWOBJ_EX, _INST, _OBJ):
        refuse(f"an object created by calling its class ({_NAMES[code]})")


_NAMES = {code: name for name, code in _CODE.items()}


def _global_name(data: bytes, first: int, after: int) -> str:
    """``module.name`` from the two lines of a GLOBAL or INST instruction."""
    module, _, name = bytes(data[first:after - 1]).decode("utf-8", "replace").partition("\n")
    return f"{module}.{name}"


def _text_slot(data: bytes, first: int, after: int, refuse) -> int:
    """The memo slot of a protocol-0 GET or PUT, written as a line of digits."""
    text = bytes(data[first:after - 1])
    if not text.isdigit() or len(text) > MAX_TEXT_DIGITS:
        refuse("a memo slot that is not a number")
    return int(text)
