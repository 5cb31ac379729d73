"""``TrainingRun``: what 27 and 30 do around the course's loop that the video does not: one run
per folder, a fresh TensorBoard folder, ``--bf16``, each step's loss, ``--resume``, the time left,
and the result dict."""

from __future__ import annotations

import atexit
import contextlib
import os
import time
from pathlib import Path

import torch
from torch import nn

from tudui.data import cifar10_is_synthetic, synthetic_banner
from tudui.device import bf16_or_fp32
from tudui.engine import time_left_line
from tudui.infra import checkpoints
from tudui.infra.console import quiet_when_output_closes
from tudui.infra.files import atomic_file
from tudui.infra.runlock import lock_folder


class TrainingRun:
    """Everything 27 and 30 do around the course's loop that the video does not: one run per
    folder (a lock), a fresh TensorBoard folder, --bf16, each step's loss, --resume, the time
    left, the result dict. None of it needs a line inside the course's loops.

    ``args`` is the lesson's parsed flags: ``epochs``, ``batch_size`` and ``lr``, and those a
    lesson may not have (a missing one counts as off): ``resume``, ``shuffle``, ``seed``,
    ``bf16``, ``quick``, ``data_root`` (the stand-in notice).
    """

    def __init__(self, folder: str | os.PathLike, args, device: torch.device,
                 log_every: int = 100):
        self.folder, self.args, self.device, self.log_every = Path(folder), args, device, log_every
        quiet_when_output_closes()
        self.lock = lock_folder(self.folder)
        self.settings = {k: getattr(args, k, None) for k in
                         ("quick", "batch_size", "lr", "shuffle", "seed", "bf16")}
        try:
            checkpoints.check_checkpoint_names(self.folder)
            # --resume: its file checked now, before anything in the folder changes
            self.resume_state = checkpoints.read_resume_state(self.folder, self.settings) \
                if getattr(args, "resume", False) else None
        except BaseException:
            self.lock.release()  # refused: the folder as it was, without our lock
            raise
        checkpoints.remove_stale_temporary_files(self.folder)
        # The earlier runs' event files, removed once this run really starts
        self.old_events = set(self.folder.glob("events.out.tfevents.*"))
        self.step_losses: list = []   # this run's losses, one per step (tensors until read back)
        self.history: list[dict] = []
        self.epochs_done = self.first_epoch = 0
        self.checkpoint: Path | None = None
        self.started = self.epoch_started = time.perf_counter()
        data_root = getattr(args, "data_root", None)
        if data_root is not None and cifar10_is_synthetic(data_root):
            print(synthetic_banner("CIFAR-10"))

    def start(self, model: nn.Module, loss_fn: nn.Module, optimizer, writer,
              train_dataloader) -> None:
        """Before the course's loop: a new run removes the old checkpoints; ``--bf16`` runs the
        forward passes of ``model`` and ``loss_fn`` under autocast; every training step's loss
        is kept (``loss_fn``'s output while gradients are on) for resume.pt and the result."""
        self.model, self.optimizer, self.writer = model, optimizer, writer
        atexit.register(self.close_writer)  # an interrupted run still flushes its last points
        self.train_dataloader = train_dataloader
        if getattr(self.args, "bf16", False):
            amp_dtype = bf16_or_fp32(self.device)  # None (fp32) where bf16 is not native
            if amp_dtype is not None:
                for module in (model, loss_fn):  # as `with autocast(...)` around both calls
                    module.forward = torch.autocast(self.device.type, dtype=amp_dtype)(
                        module.forward)
        loss_fn.register_forward_hook(self._keep_training_loss)
        if not getattr(self.args, "resume", False):
            self._remove_old_events()
            removed = checkpoints.remove_epoch_checkpoints(self.folder)
            (self.folder / checkpoints.RESUME_FILE).unlink(missing_ok=True)
            if removed:
                print(f"新的一轮训练：删除了上次的 {removed} 个检查点 / a new run: removed the "
                      f"previous run's {removed} checkpoint(s) from {self.folder}")

    def _keep_training_loss(self, loss_fn, inputs, loss) -> None:
        if torch.is_grad_enabled():  # the training loop; the test loop runs under no_grad
            self.step_losses.append(loss.detach())  # read back once per epoch (end_epoch)

    def resume(self) -> tuple[int, int]:
        """--resume: load the last complete epoch (weights, optimizer, the next epoch's data
        order), draw its history again and return (total_train_step, total_test_step) to go on
        from; total_test_step is the number of epochs done."""
        state = self.resume_state
        self.checkpoint = checkpoints.epoch_checkpoint_path(self.folder, state["epoch"] - 1)
        try:
            checkpoints.load_checkpoint(self.checkpoint, self.model, map_location=self.device)
            checkpoints.load_optimizer_state(self.optimizer, state["optimizer"],
                                             self.folder / checkpoints.RESUME_FILE)
        except BaseException:  # refused: the folder as it was (the new event file goes)
            self._abandon()
            raise
        self._remove_old_events()  # the history is written again into the new event file
        self.epochs_done = self.first_epoch = state["epoch"]
        self.step_losses, self.history = list(state["step_losses"]), list(state["history"])
        self.train_dataloader.set_epoch(self.epochs_done)  # the next epoch's order, as if never cut
        for step in range(self.log_every, len(self.step_losses) + 1, self.log_every):
            self.writer.add_scalar("train_loss", self.step_losses[step - 1], step)
        for past in self.history:
            self.writer.add_scalar("test_loss", past["test_loss"], past["epoch"] - 1)
            self.writer.add_scalar("test_accuracy", past["test_accuracy"], past["epoch"] - 1)
        print(f"从 {self.checkpoint.name} 继续 / resuming after epoch {self.epochs_done}")
        if self.epochs_done >= self.args.epochs:
            print(f"已经训练了 {self.epochs_done} 轮，无需继续；要多训练几轮请加 --epochs N"
                  f"（N > {self.epochs_done}）。\n{self.epochs_done} epochs are already done, "
                  f"nothing to train; pass --epochs N with N > {self.epochs_done} to train further.")
        return len(self.step_losses), self.epochs_done

    def _remove_old_events(self) -> None:
        """A fresh TensorBoard file: the earlier runs' event files go once this run starts."""
        for old in self.old_events:
            with contextlib.suppress(OSError):  # Windows: still open in this process
                old.unlink()

    def _abandon(self) -> None:
        """Leave the folder as it was: the writer's new event file removed, the lock released."""
        self.close_writer()
        atexit.unregister(self.close_writer)
        for new in set(self.folder.glob("events.out.tfevents.*")) - self.old_events:
            with contextlib.suppress(OSError):
                new.unlink()
        self.lock.release()

    def close_writer(self) -> None:
        """``writer.close()`` at exit; a full disk was already reported as one paragraph (the
        writer raises its failure again at every call)."""
        with contextlib.suppress(OSError):
            self.writer.close()

    def atomic_file(self, name: str):
        """``with run.atomic_file("tudui_0.pth") as f: torch.save(..., f)`` in the run's folder."""
        self.checkpoint = self.folder / name
        return atomic_file(self.checkpoint)

    def end_epoch(self, total_test_loss: float, test_accuracy: float) -> None:
        """After the epoch's checkpoint: its row of history, the --resume file, the time left."""
        self.epochs_done += 1
        losses = [x for x in self.step_losses if isinstance(x, torch.Tensor)]
        epoch_losses = torch.stack(losses).float().tolist() if losses else []  # one read-back
        self.step_losses = self.step_losses[:len(self.step_losses) - len(losses)] + epoch_losses
        now = time.perf_counter()
        self.history.append({"epoch": self.epochs_done, "test_loss": total_test_loss,
                             "test_accuracy": test_accuracy, "seconds": now - self.epoch_started,
                             "train_loss": (sum(epoch_losses) / len(epoch_losses)
                                            if epoch_losses else None)})
        self.epoch_started = now
        if getattr(self.args, "resume", None) is not None:  # lessons with --resume
            checkpoints.write_resume_state(
                self.folder, epoch=self.epochs_done, optimizer=self.optimizer.state_dict(),
                step_losses=self.step_losses, history=self.history, settings=self.settings)
        print(time_left_line(self.epochs_done - self.first_epoch,
                             self.args.epochs - self.first_epoch, now - self.started))

    def finish(self, **extra) -> dict:
        """Release the folder and return what a test needs to check."""
        atexit.unregister(self.close_writer)
        self.lock.release()
        last = self.history[-1] if self.history else {}
        return {"step_losses": self.step_losses, "history": self.history,
                "test_accuracy": last.get("test_accuracy"), "test_loss": last.get("test_loss"),
                "checkpoint": str(self.checkpoint) if self.checkpoint else None,
                "epochs": self.args.epochs, "batch_size": self.args.batch_size,
                "lr": self.args.lr, "device": str(self.device), "log_dir": str(self.folder),
                **extra}
