"""Parses YAML files with PyYAML and prints them as one JSON object by path, every
scalar a string (BaseLoader: GitHub's `on:` stays the key "on"), for the tests of the
examples (tests/ci_formats.rs, tests/org_examples.rs). A file that is not YAML fails
here. With --all, each file is the list of its documents (a Kubernetes manifest).

Usage: yaml_to_json.py [--all] FILE.yml...
"""

import json
import sys

import yaml

args = sys.argv[1:]
every = args[:1] == ["--all"]
if every:
    args = args[1:]


def read(path):
    with open(path, encoding="utf-8") as f:
        if every:
            return list(yaml.load_all(f, Loader=yaml.BaseLoader))
        return yaml.load(f, Loader=yaml.BaseLoader)


json.dump({p: read(p) for p in args}, sys.stdout)
