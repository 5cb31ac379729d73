"""The values ``--device`` accepts, in a module that imports nothing.

``tudui.cli`` offers them without importing torch (``00_prepare_data.py`` and the tour start at
once), and ``tudui.device`` (torch) checks them; ``cli`` imports ``device`` only when a GPU is
asked for, so neither imports the other back.
"""

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
