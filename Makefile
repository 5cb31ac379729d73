# The README's two commands: `make lessons` (a quick tour of every lesson) and `make test`.
# Each creates .venv from requirements.txt first when it is missing or requirements.txt changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/requirements.installed
PORT ?= 6006

.PHONY: lessons test tensorboard lint venv clean-logs help practice check

help:
	@echo "make lessons        quick tour of every lesson (fills logs/); FULL=1 for the course's settings"
	@echo "make test           run the tests"
	@echo "make tensorboard    serve logs/ on http://127.0.0.1:$(PORT)"
	@echo "make practice       list the exercises (练一练); make check checks yours"
	@echo "make lint           ruff"
	@echo "make clean-logs     delete everything under logs/ except its README"

# The modules the lessons import; with pip's offline dry run below this verifies a .venv that has
# no stamp (made by hand, or by an older Makefile) instead of reinstalling PyTorch into it.
IMPORT_CHECK := import torch, torchvision, tensorboard, PIL, cv2, numpy, tqdm, filelock, pytest, xdist

# Up to date when requirements.txt equals the copy saved at the last install (the stamp). Without
# a matching stamp an existing .venv is checked first: every requirement already installed at a
# version requirements.txt allows (pip --dry-run --no-index: no download) and the imports work.
# Only when that fails does pip install into it (or a new .venv is created).
venv:
	@if [ -x "$(PY)" ] && cmp -s requirements.txt "$(STAMP)"; then \
		echo ">> checking $(VENV): requirements.txt unchanged since its last install"; \
	elif [ -x "$(PY)" ] && echo ">> checking $(VENV): versions and imports (a few seconds)" && \
		$(PY) -m pip install --dry-run --no-index --quiet --disable-pip-version-check \
			-r requirements.txt >/dev/null 2>&1 && \
		$(PY) -c "$(IMPORT_CHECK)" >/dev/null 2>&1; then \
		cp requirements.txt "$(STAMP)" && \
		echo ">> $(VENV) already has everything requirements.txt asks for: kept as it is"; \
	else \
		if [ -x "$(PY)" ]; then \
			echo ">> updating $(VENV) from requirements.txt"; \
		else \
			echo ">> creating $(VENV) from requirements.txt (first time: a few minutes, PyTorch is large)"; \
			$(PYTHON) -m venv $(VENV) || exit 1; \
		fi; \
		$(PY) -m pip install --disable-pip-version-check -r requirements.txt && \
		cp requirements.txt "$(STAMP)"; \
	fi

lessons: venv
	$(PY) src/run_lessons.py $(if $(FULL),--full,)

test: venv
	$(PY) -m pytest

# 练一练 / Your turn: python src/practice.py NN makes practice/NN_*.py; these list and check them
practice: venv
	$(PY) src/practice.py

check: venv
	$(PY) src/practice.py --check

# --samples_per_plugin images=0: keep every image step. By default TensorBoard keeps a random 10
# per tag (10 of one lesson's 156 image steps), so the slider skips most of what was written.
tensorboard: venv
	$(VENV)/bin/tensorboard --logdir logs --host 127.0.0.1 --port $(PORT) --samples_per_plugin images=0

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks

clean-logs:
	find logs -mindepth 1 ! -name README.md -exec rm -rf {} +
