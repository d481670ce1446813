# The course's commands. On a fresh machine: `make lab` to study, `make test` to check everything.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
FIRST  := notebooks/01_chain_rule.ipynb
export MPLBACKEND := Agg

.PHONY: help venv lab test test-unit test-notebooks notebooks pictures bench clean

help:
	@echo "make lab         create .venv if needed, install, start JupyterLab on 127.0.0.1 with a token"
	@echo "make test        pytest on tests/ and nbval on notebooks/ (what CI runs)"
	@echo "make notebooks   re-execute every notebook in place (commit the outputs)"
	@echo "make pictures    redraw the figures in pictures/"
	@echo "make bench       print the speed tables of benchmarks/"

# The venv is (re)installed when it is missing or requirements.txt / pyproject.toml changed.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# A fresh random token every start (never empty), loopback only.
lab: $(STAMP)
	MPLBACKEND= $(VENV)/bin/jupyter lab $(FIRST) --ServerApp.ip=127.0.0.1 \
		--IdentityProvider.token="$$($(PY) -c 'import secrets; print(secrets.token_hex(24))')"

# pytest exits 5 when it collects no test; that is not a failure here (e.g. before any notebook).
test: test-unit test-notebooks

test-unit: $(STAMP)
	$(PY) -m pytest -q tests || [ $$? -eq 5 ]

test-notebooks: $(STAMP)
	BNLIB_PROGRESS=0 $(PY) -m pytest -q --nbval-lax --nbval-current-env \
		--nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider notebooks || [ $$? -eq 5 ]

notebooks: $(STAMP)
	BNLIB_PROGRESS=0 $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=600 notebooks/[0-9]*.ipynb

pictures: $(STAMP)
	$(PY) pictures/make_pictures.py

bench: $(STAMP)
	$(PY) benchmarks/bench_batchnorm.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
