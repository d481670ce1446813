# The course's commands. On a fresh machine: `make lab` to study, `make test` to check everything.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export MPLBACKEND := Agg

.PHONY: help venv lab test test-unit test-notebooks notebooks pictures bench clean student html

help:
	@echo "make lab         create .venv if needed, install, start JupyterLab at notebook 01 on 127.0.0.1;"
	@echo "                 open the http://127.0.0.1:8888/lab/tree/notebooks/01_chain_rule.ipynb?token=... address it prints"
	@echo "make test        pytest on tests/ and nbval on notebooks/ (what CI runs)"
	@echo "make notebooks   re-execute every notebook in place (commit the outputs)"
	@echo "make pictures    redraw the figures in pictures/"
	@echo "make bench       print the speed tables of benchmarks/"
	@echo "make student     write student/: the course without its solutions, to hand out"
	@echo "make html        render the executed notebooks to site/ (index.html), to read without a kernel"

# The venv is (re)installed when it is missing or requirements.txt / pyproject.toml / the
# JupyterLab settings in jupyter-config/ changed.
$(STAMP): requirements.txt pyproject.toml $(shell find jupyter-config -name "*.json" -o -name "*.toml")
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# JupyterLab rooted at the repository, opened at notebook 01, on 127.0.0.1 only, with a token it
# makes up and prints in full: tools/lab.py builds the command line (the browser test uses it too).
lab: $(STAMP)
	$(PY) -m tools.lab

# Notebooks and tests run with one BLAS thread: their matrices are small (threads cost more than
# they save, badly so on a shared machine), and one thread makes the rounding of every printed
# number the same from run to run, so nbval can compare the stored outputs.
ONE_THREAD := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

# pytest exits 5 when it collects no test; that is not a failure here (e.g. before any notebook).
test: test-unit test-notebooks

test-unit: $(STAMP)
	$(ONE_THREAD) $(PY) -m pytest -q tests || [ $$? -eq 5 ]

test-notebooks: $(STAMP)
	$(ONE_THREAD) BNLIB_PROGRESS=0 $(PY) -m pytest -q --nbval-lax --nbval-current-env \
		--nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider notebooks || [ $$? -eq 5 ]

notebooks: $(STAMP)
	$(ONE_THREAD) BNLIB_PROGRESS=0 $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=600 notebooks/[0-9]*.ipynb

pictures: $(STAMP)
	$(PY) pictures/make_pictures.py

bench: $(STAMP)
	$(PY) benchmarks/bench_batchnorm.py
	$(PY) benchmarks/bench_step.py
	$(PY) benchmarks/bench_fig1.py
	$(PY) benchmarks/bench_saturation_panel.py

# Teachers: the solution-free edition (### BEGIN/END SOLUTION regions become stubs) and the site.
student: $(STAMP)
	$(PY) -m tools.make_student --out student

# Offline reading: make html MATHJAX_URL="file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
# (Debian: apt-get install libjs-mathjax). By default the pages load MathJax from its CDN.
html: $(STAMP)
	$(PY) -m tools.make_site --out site $(if $(MATHJAX_URL),--mathjax-url "$(MATHJAX_URL)")

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
