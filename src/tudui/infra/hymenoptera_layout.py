"""The ants/bees set's fixed shape: its splits, classes, picture counts and placeholder picture.

Both ``hymenoptera_files`` (which checks, fetches and lays out the set) and
``ants_bees_stand_in`` (which draws a stand-in of it) need these; kept here, in a module that
imports nothing, neither imports the other back. ``hymenoptera_files`` re-exports them and
passes a stand-in's counts to the generator (``stand_in_counts``).
"""

SPLITS = ("train", "val")
CLASSES = ("ants", "bees")
REAL_COUNTS = {"train": {"ants": 124, "bees": 121}, "val": {"ants": 70, "bees": 83}}
QUICK_COUNTS = {"train": {"ants": 24, "bees": 21}, "val": {"ants": 10, "bees": 13}}
ERROR_IMAGE = "imageNotFound.gif"  # the real set's placeholder: a palette-mode GIF in train/ants
