# cce tasks. `just setup` once, then `just test`. Recipes run from the repository root.
set shell := ["bash", "-euo", "pipefail", "-c"]

py := ".venv/bin/python"

# create .venv with cce (editable) and the test tools, and fetch the pinned model
setup:
    test -x {{py}} || python3 -m venv .venv
    {{py}} -m pip install -q -e '.[test]'
    {{py}} cce.py model pull

# run the test suite (the README's test command)
test *ARGS:
    {{py}} -m pytest -q {{ARGS}}

# index a folder and search it: just demo ~/code/project "where are requests authenticated"
demo PATH QUERY:
    {{py}} cce.py index {{PATH}}
    {{py}} cce.py search {{quote(QUERY)}} --project-dir {{PATH}}

# speed, memory and quality figures on the pinned fastapi corpus (see README, Benchmarks)
bench:
    {{py}} bench/bench.py
    {{py}} bench/serve_bench.py
    {{py}} bench/quality.py

# retrieval quality per mode on every query set
bench-quality:
    {{py}} bench/quality.py

lint:
    .venv/bin/ruff check .
