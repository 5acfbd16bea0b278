"""The benchmark figures in README.md and in tests/bench/README.md ("Latest figures") are
one block that tests/bench/figures.py writes into both: they must never disagree (issue 18:
one said a target was not met while the other said it was). No runtime is run."""

import os
import re

from conftest import REPO

BLOCK = re.compile(r"<!-- figures:begin[^>]*-->.*?<!-- figures:end -->", re.S)


def blocks(path):
    with open(os.path.join(REPO, path)) as f:
        return BLOCK.findall(f.read())


def test_readme_and_bench_readme_show_the_same_figures():
    top, bench = blocks("README.md"), blocks("tests/bench/README.md")
    assert len(top) == 1 and len(bench) == 1, "each file has exactly one generated figures block"
    assert top[0] == bench[0], "README.md and tests/bench/README.md show different figures: run figures.py"


def test_the_block_names_its_targets_verdict():
    """The block ends with the verdict figures.py computed from its own table."""
    text = blocks("README.md")[0]
    assert ("Targets of issue 18 not met in this run:" in text) != (
        "Every target of issue 18 in the table is met in this run." in text)
