"""tudui.infra: the plumbing no video teaches, kept out of the way of the modules a learner reads.

学习时不必阅读这里 / You need not read this folder to follow the course. It holds what makes the
lessons safe and friendly on a learner's laptop: downloads checked by hash (``downloads``), the
CIFAR-10 and ants/bees files checked before use (``cifar10_files``, ``hymenoptera_files``) and their
generated stand-ins (``cifar10_stand_in``, ``ants_bees_stand_in``, ``markers``), pictures that
cannot be opened explained (``pictures``), files written atomically (``files``), OS errors and
Ctrl-C turned into one paragraph (``oserrors``, ``console``), the commands messages tell you to
run (``commands``), one training run per folder (``runlock``), checkpoint and --resume files
(``checkpoints``), loading model files without running code from them (``safe_load``, and
``legacy_pth`` for torch's pre-1.6 format), and bounding what any pickle may build before it is
unpickled (``pickle_scan``).

Nothing here imports torchvision, TensorBoard or OpenCV at import time.
"""
