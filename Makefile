# The README's two commands: `make lessons` (a quick tour of every lesson) and `make test`.
# Each creates .venv from requirements.txt first when it is missing or requirements.txt changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/requirements.installed
PORT ?= 6006

.PHONY: lessons test tensorboard lint venv clean-logs help

help:
	@echo "make lessons        quick tour of every lesson (fills logs/); FULL=1 for the course's settings"
	@echo "make test           run the tests"
	@echo "make tensorboard    serve logs/ on http://127.0.0.1:$(PORT)"
	@echo "make lint           ruff"
	@echo "make clean-logs     delete everything under logs/ except its README"

# Re-install only when requirements.txt differs from the copy saved at the last install.
venv:
	@if [ ! -x "$(PY)" ] || ! cmp -s requirements.txt "$(STAMP)"; then \
		echo ">> creating $(VENV) from requirements.txt (first time: a few minutes, PyTorch is large)"; \
		$(PYTHON) -m venv $(VENV) && \
		$(PY) -m pip install --disable-pip-version-check -r requirements.txt && \
		cp requirements.txt "$(STAMP)"; \
	fi

lessons: venv
	$(PY) src/run_lessons.py $(if $(FULL),--full,)

test: venv
	$(PY) -m pytest

tensorboard: venv
	$(VENV)/bin/tensorboard --logdir logs --host 127.0.0.1 --port $(PORT)

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks

clean-logs:
	find logs -mindepth 1 ! -name README.md -exec rm -rf {} +
