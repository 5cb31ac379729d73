"""tudui.infra: the plumbing no video teaches, kept out of the way of the modules a learner reads.

学习时不必阅读这里 / You need not read this folder to follow the course. It holds what makes the
lessons safe and friendly on a learner's laptop: downloads checked by hash (``downloads``), the
CIFAR-10 and ants/bees files checked before use (``cifar10_files``, ``hymenoptera_files``, the
ants/bees set's shape in ``hymenoptera_layout``) and their generated stand-ins
(``cifar10_stand_in``, ``ants_bees_stand_in``, ``markers``) or CIFAR-10 rebuilt from a picture
folder (``cifar10_from_images``), pictures that cannot be opened
explained (``pictures``), files written atomically and folders replaced whole (``files``), the
one-paragraph error itself (``course_error``), OS errors and Ctrl-C turned into one paragraph
(``oserrors``, ``console``), the commands messages tell you to run (``commands``), the values
``--device`` accepts (``choices``), one training run per folder (``runlock``), checkpoint and
--resume files (``checkpoints``), loading model files without running code from them
(``safe_load``, and ``legacy_pth`` for torch's pre-1.6 format), bounding what any pickle may
build before it is unpickled (``pickle_scan``), how the tour runs each lesson
(``lesson_runs``), and the exercises of ``src/practice.py`` (``practice``, with the table of
what each one cuts out in ``practice_spec``).

Nothing here imports torchvision, TensorBoard or OpenCV at import time (tests/test_package.py).
"""
