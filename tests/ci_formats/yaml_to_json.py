"""Parses YAML files with PyYAML and prints them as one JSON object by path, every
scalar a string (BaseLoader: GitHub's `on:` stays the key "on"), for
tests/ci_formats.rs to check the CI examples. A file that is not YAML fails here.

Usage: yaml_to_json.py FILE.yml...
"""

import json
import sys

import yaml

json.dump(
    {p: yaml.load(open(p, encoding="utf-8"), Loader=yaml.BaseLoader) for p in sys.argv[1:]},
    sys.stdout,
)
