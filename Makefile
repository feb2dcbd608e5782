# pv — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := .demo
# The CPU build of torch: pip takes the local wheel for this exact pin (no multi-GB CUDA download).
TORCH_PIN ?= torch==2.13.0

.PHONY: install demo test lint bench mutants hunt mutmut clean

install: $(VENV)/.installed

# The wheel (distribution `pv-contracts`) holds only pv. This repository's own packages — the
# reference `trainer`, `falsifiers`, `bench` — are never installed into site-packages, where `trainer`
# could replace another project's package: a .pth file puts this checkout on the venv's sys.path, and
# a small launcher provides `.venv/bin/trainer` (same as `python -m trainer`).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q '$(TORCH_PIN)'
	@# the distribution was called `pv` before; drop it so two editable finders do not compete
	$(BIN)/python -m pip uninstall -q -y pv 2>/dev/null || true
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -c 'import pathlib, sys, sysconfig; \
		pathlib.Path(sysconfig.get_paths()["purelib"], "pv-checkout.pth").write_text(sys.argv[1] + "\n")' '$(CURDIR)'
	printf '#!%s\nimport sys\nfrom trainer.cli import main\nsys.exit(main(prog_name="trainer"))\n' \
		'$(CURDIR)/$(BIN)/python' > $(BIN)/trainer
	chmod +x $(BIN)/trainer
	touch $@

demo: install
	@echo "== 1/7 tokenizer: byte-level BPE on the installed Python's standard library"
	$(BIN)/trainer tokenizer train --corpus stdlib --vocab-size 2048 --out $(DEMO)/tokenizer --max-files 400
	@echo "== 2/7 data: token shards + held-out split"
	$(BIN)/trainer data prepare --corpus stdlib --tokenizer $(DEMO)/tokenizer --out $(DEMO)/data --max-files 400
	@echo "== 3/7 pretrain: real drive, tiny preset, ~2 minutes on 2 cores"
	@echo "   (a demo-sized target: --target-val-loss overrides the from-scratch default of 3.0)"
	rm -rf $(DEMO)/run
	$(BIN)/trainer pretrain --dataset $(DEMO)/data --tokenizer $(DEMO)/tokenizer --run-dir $(DEMO)/run \
		--mode from-scratch --model tiny --num-steps 120 --steps-per-epoch 40 --batch-size 16 --seq-length 128 \
		--target-val-loss 5.5 --seed 0
	@echo "== 4/7 qa of the run directory"
	$(BIN)/trainer qa $(DEMO)/run
	@echo "== 5/7 report: HTML with curves, verdict, qa and samples; PNG of the loss curves"
	$(BIN)/trainer report $(DEMO)/run
	@echo "== 6/7 contracts"
	$(BIN)/pv validate contracts
	@echo "demo run: $(DEMO)/run (train.jsonl, ckpt/, report.html); repeat it: trainer pretrain --config $(DEMO)/run/config.json --run-dir NEW"
	@echo "== 7/7 samples from the best checkpoint (seeded; a tiny model after 2 minutes writes Python-shaped noise)"
	$(BIN)/trainer sample --run-dir $(DEMO)/run --prompt "def " --prompt "import " --prompt "class " --max-new-tokens 48 --seed 0

# The pre-merge gate: tests (generated falsifiers included), contracts valid, generated tests in sync
# with the contracts, every ship-blocking gate green, and versions bumped against the merge base.
test: install
	$(BIN)/pv validate contracts
	$(BIN)/pv generate contracts -o falsifiers/generated --check
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup
	$(BIN)/pv gate
	$(BIN)/pv diff --base auto -q

lint: install
	$(BIN)/ruff check pv trainer falsifiers tests bench
	$(BIN)/ruff format --check pv trainer falsifiers tests bench

bench: install
	$(BIN)/python bench/run_all.py

# The defect benchmark: every named mutant of the trainer must turn `pv gate` red.
mutants: install
	$(BIN)/python -m bench.mutants.run

# Random, long hypothesis search over the falsifiers; pins what it finds into the contracts.
hunt: install
	$(BIN)/pv hunt --budget 10m

mutmut: install
	$(BIN)/mutmut run --max-children 2; $(BIN)/mutmut results

clean:
	rm -rf $(VENV) $(DEMO) .pv .pytest_cache
