"""torch's legacy ``.pth`` format (torch < 1.6, or ``_use_new_zipfile_serialization=False``),
read without running code from the file.

Many 2020-era copies of the course's ``tudui_29_gpu.pth`` are in this format. torch's
``weights_only`` loader reads its state_dicts, but not its whole models (it refuses the
``("module", class, source)`` records they hold), and it reserves each tensor's memory as the
file declares it, before reading a byte of it. The format is simple, so we read it ourselves:

    pickle 1: the magic number   pickle 2: the format version (1001)   pickle 3: system info
    pickle 4: the object, its tensors as ("storage", type, key, location, size) records
    pickle 5: the list of storage keys, then each storage: 8 bytes of size, then its bytes

Every pickle is first scanned (``pickle_scan``: depth, lengths, memo), then unpickled by an
unpickler that knows only a few names: containers, torch's tensor-rebuilding functions (ours,
below: a view of a storage read from this file, bounds-checked by torch), the storage types,
and the module classes the caller allows (``safe_load`` maps them to holders that cannot be
called). The storages together may not declare more bytes than the file holds.
"""

from __future__ import annotations

import collections
import io
import pickle

import torch

from tudui.infra.pickle_scan import scan_pickle

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
FORMAT_VERSION = 1001                   # torch.serialization.PROTOCOL_VERSION
STORAGE_TYPES = {  # what torch.<Name>Storage holds
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


def is_legacy(head: bytes) -> bool:
    """Whether a file starting with ``head`` may be in the legacy format: it starts with a
    pickle (``LegacyReader.read`` then checks the magic number), not a zip archive."""
    return head[:1] == b"\x80"


class _StorageType:
    def __init__(self, dtype: torch.dtype):
        self.dtype = dtype


class _LegacyUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, classes: dict, reader: LegacyReader):
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self.classes, self.reader = classes, reader

    def find_class(self, module: str, name: str):
        full = f"{module}.{name}"
        if full in _PLAIN_GLOBALS:
            return _PLAIN_GLOBALS[full]
        if full in _REBUILD:
            return getattr(self.reader, _REBUILD[full])
        if module == "torch" and name in STORAGE_TYPES:
            return _StorageType(STORAGE_TYPES[name])
        if full in self.classes:
            return self.classes[full]
        # the words of torch's own refusal: safe_load's message names the global from them
        raise pickle.UnpicklingError(f"Unsupported global: GLOBAL {full}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid):
            raise pickle.UnpicklingError("a persistent record that is not a tuple")
        kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if kind == "module" and len(pid) == 4 and pid[1] in self.classes.values():
            return pid[1]  # a module class, with the source it was saved from (ignored)
        if kind == "storage" and len(pid) == 6:
            return self.reader.storage(*pid[1:])
        raise pickle.UnpicklingError(f"a persistent record of kind {kind!r}")


_PLAIN_GLOBALS = {
    "collections.OrderedDict": collections.OrderedDict,
    "builtins.set": set, "__builtin__.set": set,
    "torch.Size": tuple,
}
_REBUILD = {
    "torch._utils._rebuild_tensor_v2": "rebuild_tensor",
    "torch._utils._rebuild_tensor": "rebuild_tensor",
    "torch._utils._rebuild_parameter": "rebuild_parameter",
}


class LegacyReader:
    """One legacy file's bytes, read into (object, the GLOBAL names of its object pickle)."""

    def __init__(self, data: bytes, max_depth: int, max_objects: int):
        self.data, self.max_depth, self.max_objects = data, max_depth, max_objects
        self.storages: dict[str, torch.Tensor] = {}
        self.declared = 0

    def _pickle(self, pos: int, classes: dict | None = None) -> tuple[object, int, list[str]]:
        end, names = scan_pickle(self.data, pos, max_depth=self.max_depth,
                                 max_objects=self.max_objects)
        value = _LegacyUnpickler(self.data[pos:end], classes or {}, self).load()
        return value, end, names

    def names(self) -> list[str]:
        """The GLOBALs the object pickle names (read, not run: for the allow-list)."""
        pos = 0
        for _ in range(3):
            pos = scan_pickle(self.data, pos, max_depth=self.max_depth,
                              max_objects=self.max_objects)[0]
        return scan_pickle(self.data, pos, max_depth=self.max_depth,
                           max_objects=self.max_objects)[1]

    def read(self, classes: dict[str, type]) -> object:
        """The saved object; ``classes``: the allowed module classes' names and holders."""
        magic, pos, _ = self._pickle(0)
        version, pos, _ = self._pickle(pos)
        if magic != MAGIC_NUMBER or version != FORMAT_VERSION:
            raise pickle.UnpicklingError("not a torch file (wrong magic number or version)")
        system, pos, _ = self._pickle(pos)
        if not (isinstance(system, dict) and system.get("little_endian") is True):
            raise pickle.UnpicklingError("saved on a big-endian computer")
        result, pos, _ = self._pickle(pos, classes)
        keys, pos, _ = self._pickle(pos)
        if not (isinstance(keys, list) and sorted(keys) == sorted(self.storages)):
            raise pickle.UnpicklingError("its list of storages does not match its tensors")
        for key in keys:  # each: its number of elements (8 bytes), then its bytes
            flat = self.storages[key]
            if int.from_bytes(self.data[pos:pos + 8], "little", signed=True) != flat.numel():
                raise pickle.UnpicklingError(f"storage {key}: another size than declared")
            size = flat.numel() * flat.element_size()
            pos += 8
            if pos + size > len(self.data):
                raise pickle.UnpicklingError("the file ends inside its tensors' data")
            if size:
                flat.view(torch.uint8).copy_(
                    torch.frombuffer(bytearray(self.data[pos:pos + size]), dtype=torch.uint8))
            pos += size
        return result

    # ---- what the object pickle calls, through find_class and persistent_load

    def storage(self, storage_type, key, location, numel, view):
        """A ("storage", ...) record: a flat tensor, filled once the object is read."""
        if not (isinstance(storage_type, _StorageType) and isinstance(key, str) and
                type(numel) is int and numel >= 0 and view is None):
            raise pickle.UnpicklingError("a storage record that torch does not write")
        flat = self.storages.get(key)
        if flat is None:
            self.declared += numel * torch.empty((), dtype=storage_type.dtype).element_size()
            # all storages' bytes are in the file: more would be reserved for nothing
            if self.declared > len(self.data):
                raise pickle.UnpicklingError(
                    f"its tensors declare {self.declared:,} bytes in a file of {len(self.data):,}")
            flat = self.storages[key] = torch.empty(numel, dtype=storage_type.dtype)
        elif flat.dtype != storage_type.dtype or flat.numel() != numel:
            raise pickle.UnpicklingError(f"storage {key} declared twice, differently")
        return flat

    def rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None,
                       metadata=None):
        """torch's ``_rebuild_tensor_v2``: a view of a storage (torch checks the bounds)."""
        if not (any(storage is flat for flat in self.storages.values()) and type(offset) is int
                and isinstance(size, tuple) and isinstance(stride, tuple)):
            raise pickle.UnpicklingError("a tensor record that torch does not write")
        return storage.as_strided(size, stride, offset)

    @staticmethod
    def rebuild_parameter(data, requires_grad=True, hooks=None):
        """torch's ``_rebuild_parameter``: we keep the tensor (only the weights are used)."""
        if not isinstance(data, torch.Tensor):
            raise pickle.UnpicklingError("a parameter record without a tensor")
        return data
