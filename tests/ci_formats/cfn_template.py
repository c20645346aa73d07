"""Reads CloudFormation templates (YAML with the short forms !Ref, !Sub, !If… or JSON)
with cfn-lint's own decoder, which turns each short form into its long one
({"Ref": …}, {"Fn::If": […]}), and prints them as one JSON object by path, for
tests/org_examples.rs. A file that is not a template fails here.

Usage: cfn_template.py FILE...
"""

import json
import sys

from cfnlint.decode import decode

out = {}
for path in sys.argv[1:]:
    template, problems = decode(path)
    if problems or template is None:
        sys.exit(f"{path}: {[str(p) for p in problems]}")
    out[path] = template
json.dump(out, sys.stdout)
