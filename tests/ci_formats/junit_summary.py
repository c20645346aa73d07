"""Reads JUnit XML files as CI systems do, with junitparser, and prints what it read as
JSON (one object per file: the counts it reports and every suite and case), for
tests/ci_formats.rs to compare with CloudKestrel's JSON report.

Usage: junit_summary.py FILE.junit.xml...
"""

import json
import sys

from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite

KINDS = ((Failure, "failure"), (Error, "error"), (Skipped, "skipped"))


def case_of(case):
    results = list(case.result)
    out = {"classname": case.classname, "name": case.name, "results": len(results)}
    out["result"] = "pass"
    if results:
        r = results[0]
        out["result"] = next(k for t, k in KINDS if isinstance(r, t))
        out.update(message=r.message, type=r.type, text=r.text)
    return out


def suite_of(suite):
    return {
        "name": suite.name,
        "tests": suite.tests,
        "failures": suite.failures,
        "errors": suite.errors,
        "skipped": suite.skipped,
        "cases": [case_of(c) for c in suite],
    }


def main(paths):
    out = {}
    for path in paths:
        xml = JUnitXml.fromfile(path)
        suites = [xml] if isinstance(xml, TestSuite) else list(xml)
        out[path] = {
            "name": xml.name,
            "tests": xml.tests,
            "failures": xml.failures,
            "errors": xml.errors,
            "skipped": xml.skipped,
            "suites": [suite_of(s) for s in suites],
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
