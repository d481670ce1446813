# The course's commands. On a fresh machine: `make lab` to study, `make test` to check everything.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
FIRST  := notebooks/01_chain_rule.ipynb
export MPLBACKEND := Agg

.PHONY: help venv lab test test-unit test-notebooks notebooks pictures bench clean student html \
	html-student

help:
	@echo "make lab         create .venv if needed, install, start JupyterLab on 127.0.0.1 with a token"
	@echo "make test        pytest on tests/ and nbval on notebooks/ (what CI runs)"
	@echo "make notebooks   re-execute the notebooks in place, normalised (NB=notebooks/03_... for some)"
	@echo "make pictures    redraw the figures in pictures/"
	@echo "make bench       print the speed tables of benchmarks/"
	@echo "make student     write student/: the course without its solutions, to hand out"
	@echo "make html        render the executed notebooks to site/ (index.html), to read without a kernel"
	@echo "make html-student  the same for students, without solutions or answers, to site-student/"

# The venv is (re)installed when it is missing or requirements.txt / pyproject.toml changed.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# A fresh random token every start (never empty), loopback only. Jupyter refuses to run as
# root unless told to; containers and CI machines often are root, so say it only then.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP)
	MPLBACKEND= $(VENV)/bin/jupyter lab $(FIRST) --ServerApp.ip=127.0.0.1 $(ALLOW_ROOT) \
		--IdentityProvider.token="$$($(PY) -c 'import secrets; print(secrets.token_hex(24))')"

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

# Runs each notebook in a fresh kernel, then writes it normalised (tools/notebook_format.py): no
# execution timestamps or saved widget state, nbgrader tags from the solution markers, and the
# stored outputs of every cell whose new outputs are the same up to notebooks/sanitize.cfg (a
# timing that moved), so a rerun without a real change leaves git clean. Some: NB="a.ipynb b.ipynb".
NB ?=
notebooks: $(STAMP)
	$(ONE_THREAD) BNLIB_PROGRESS=0 $(PY) -m tools.notebook_format --execute --timeout 600 $(NB)

pictures: $(STAMP)
	$(PY) pictures/make_pictures.py

bench: $(STAMP)
	$(PY) benchmarks/bench_batchnorm.py
	$(PY) benchmarks/bench_step.py
	$(PY) benchmarks/bench_fig1.py

# Teachers: the solution-free edition (### BEGIN/END SOLUTION regions become stubs) and the sites.
student: $(STAMP)
	$(PY) -m tools.make_student --out student

# The teachers' and CI's tools (nbgrader; MathJax for the sites), never the learners'.
TEST_STAMP := $(VENV)/.test-requirements-stamp
$(TEST_STAMP): requirements-test.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $(TEST_STAMP)

# The sites ship their own MathJax (site/mathjax/): they work offline and can be published as
# they are. MATHJAX_URL=... loads MathJax from there instead (a CDN, for example).
html: $(TEST_STAMP)
	$(PY) -m tools.make_site --out site $(if $(MATHJAX_URL),--mathjax-url "$(MATHJAX_URL)")

html-student: $(TEST_STAMP)
	$(PY) -m tools.make_site --student --out site-student \
		$(if $(MATHJAX_URL),--mathjax-url "$(MATHJAX_URL)")

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
