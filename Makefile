# The course's commands. On a fresh machine: `make lab` to study, `make test` to check everything.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export MPLBACKEND := Agg

.PHONY: help venv lab test test-unit test-browser test-notebooks notebooks pictures bench clean student html \
	html-student answer-key

help:
	@echo "make lab         create .venv if needed, install, start JupyterLab at notebook 01 on 127.0.0.1;"
	@echo "                 open the http://127.0.0.1:8888/lab/tree/notebooks/01_chain_rule.ipynb?token=... address it prints"
	@echo "make test        unit tests, then every notebook in JupyterLab in Chromium (what CI runs)"
	@echo "make notebooks   re-execute the notebooks in place, normalised (NB=notebooks/03_... for some)"
	@echo "make pictures    redraw the figures in pictures/"
	@echo "make bench       print the speed tables of benchmarks/"
	@echo "make student     write student/: the course without its solutions, to hand out"
	@echo "make html        render the executed notebooks to site/ (index.html), to read without a kernel"
	@echo "make html-student  the same for students, without solutions or answers, to site-student/"
	@echo "make answer-key  answer-key/answer_key.md: every answer and solution, for teachers"

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

# pytest exits 5 when it collects no test; that is not a failure here.
# `make test` runs every notebook once: in the browser test, in JupyterLab as `make lab` starts
# it, which also compares the cells marked # NBVAL_CHECK_OUTPUT as nbval does. Without Chromium
# (and outside CI, where the browser test must run) nbval runs the notebooks instead.
# The unit tests run in two processes (pytest-xdist), the browser test alone: it times notebooks.
# bnlib itself limits BLAS to one thread (bnlib/threads.py).
test: test-unit test-browser

test-unit: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not browser" tests || [ $$? -eq 5 ]

test-browser: $(STAMP)
	@if [ -n "$$CI" ] || command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; then \
		$(PY) -m pytest -q -m browser -p no:cacheprovider tests || [ $$? -eq 5 ]; \
	else \
		echo "Chromium not found: the notebooks run under nbval instead (apt-get install chromium)"; \
		$(MAKE) test-notebooks; \
	fi

test-notebooks: $(STAMP)
	BNLIB_PROGRESS=0 $(PY) -m pytest -q -n 2 --dist loadfile --nbval-lax --nbval-current-env \
		--nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider notebooks || [ $$? -eq 5 ]

# Runs each notebook in a fresh kernel, then writes it normalised (tools/notebook_format.py): no
# execution timestamps or saved widget state, nbgrader tags from the solution markers, and the
# stored outputs of every cell whose new outputs are the same up to notebooks/sanitize.cfg (a
# timing that moved), so a rerun without a real change leaves git clean. Some: NB="a.ipynb b.ipynb".
NB ?=
notebooks: $(STAMP)
	BNLIB_PROGRESS=0 $(PY) -m tools.notebook_format --execute --timeout 600 $(NB)

pictures: $(STAMP)
	$(PY) pictures/make_pictures.py

bench: $(STAMP)
	$(PY) benchmarks/bench_batchnorm.py
	$(PY) benchmarks/bench_step.py
	$(PY) benchmarks/bench_fig1.py
	$(PY) benchmarks/bench_saturation_panel.py

# Teachers: the solution-free edition (### BEGIN/END SOLUTION regions become stubs) and the sites.
student: $(STAMP)
	$(PY) -m tools.make_student --out student

answer-key: $(STAMP)
	$(PY) -m tools.make_answer_key --out answer-key

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
