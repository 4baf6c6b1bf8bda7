# Two commands do all the set-up: `make run` (the app) and `make test` (the test suite).
.PHONY: run test lint screenshots bench bundle clean

run:
	scripts/setup-env.sh
	.venv/bin/dawn-studio

test:
	WANT_XVFB=1 scripts/setup-env.sh test
	.venv/bin/ruff check .
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check .

screenshots:
	WANT_XVFB=1 scripts/setup-env.sh test
	.venv/bin/python scripts/take_screenshots.py
	.venv/bin/python scripts/take_screenshots.py --theme light --out docs/screenshots/light
	.venv/bin/python scripts/take_screenshots.py --size 1024x640 --out docs/screenshots/1024x640 \
		$(SMALL_STATES)
	.venv/bin/python scripts/take_screenshots.py --size 1024x640 --theme light --out docs/screenshots/1024x640-light \
		$(SMALL_STATES)
	.venv/bin/python scripts/take_screenshots.py --size 1920x1080 --theme light --out docs/screenshots/1920x1080 \
		loaded takes motion
	QT_SCALE_FACTOR=1.25 .venv/bin/python scripts/take_screenshots.py --size 1536x864 \
		--out docs/screenshots/scale-125 loaded takes motion

SMALL_STATES = main loaded generating takes motion export-done enhance first-start

bench:
	scripts/setup-env.sh
	.venv/bin/dawn-studio bench $(BENCH_ARGS)

# One-folder desktop app in dist/dawn-studio (PyInstaller, packaging/dawn-studio.spec; see packaging/README.md)
bundle:
	scripts/setup-env.sh bundle
	.venv/bin/pyinstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/dawn-studio.spec

clean:
	rm -rf .venv build dist *.egg-info .pytest_cache .ruff_cache
