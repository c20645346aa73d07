"""Opens a CloudKestrel HTML report in headless Chromium (Debian's, driven by
Playwright), uses its toggles as a person would (a click on the label), and prints
what the page shows after each step as one JSON object on stdout. tests/html_browser.rs
runs it and checks that against the JSON report: this script decides nothing.

    report_dom.py REPORT.html SCREENSHOT.png

Chromium is never downloaded (no `playwright install`): CLOUDKESTREL_CHROMIUM, else
/usr/bin/chromium, which scripts/test installs with apt-get.
"""

import json
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CLOUDKESTREL_CHROMIUM", "/usr/bin/chromium")
# What works in a sandbox without network, as root: no sandbox, no GPU, and nothing
# that phones home (refused connections otherwise, many at a time). Playwright starts
# it headless with a new empty profile of its own (--user-data-dir), removed after.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# What the page shows: each result row (by finding id) with its classes, whether it is
# rendered (checkVisibility: display, visibility, content-visibility, and every
# ancestor), its badges and suppression; the verdict, the counts (about resources, of
# the account's setup, fixed), the header, the rules table, the triage tables and the
# lists of plain passes.
STATE = """() => {
  const shown = e => e.checkVisibility({visibilityProperty: true});
  const text = e => e ? e.innerText.trim() : null;
  const table = sel => [...document.querySelectorAll(sel + ' tbody tr')].map(tr => ({
    shown: shown(tr), cells: [...tr.cells].map(text)}));
  const meta = {};
  for (const dt of document.querySelectorAll('dl.meta dt')) {
    meta[text(dt)] = text(dt.nextElementSibling);
  }
  return {
    title: document.title,
    verdict: text(document.querySelector('.verdict-text')),
    verdict_class: document.querySelector('.verdict').className,
    counts: [...document.querySelectorAll('.verdict .scope-counts.resource .count')].map(text),
    account_counts: [...document.querySelectorAll('.verdict .scope-counts.account .count')].map(text),
    fixed_count: text(document.querySelector('.verdict a.count.fixed')),
    meta,
    toggles: [...document.querySelectorAll('.toggles input')].map(i => ({id: i.id, checked: i.checked})),
    toc_head: [...document.querySelectorAll('table.toc thead th')].map(text),
    toc: table('table.toc'),
    rules: [...document.querySelectorAll('section.rule')].map(s => ({
      id: s.id,
      heading: text(s.querySelector('h2')),
      severity: text(s.querySelector('p.severity')),
      severity_badge: text(s.querySelector('p.severity .sev')),
      counts: text(s.querySelector('p.counts')),
      suppressed_heading: text(s.querySelector('.suppressed-results h3')),
    })),
    rows: [...document.querySelectorAll('tr.result[id]')].map(tr => ({
      id: tr.id.replace(/^f-/, ''),
      section: tr.closest('section.rule') ? tr.closest('section.rule').id : null,
      classes: [...tr.classList],
      in_suppressed_table: !!tr.closest('.suppressed-results'),
      shown: shown(tr),
      display: getComputedStyle(tr).display,
      badges: [...tr.querySelectorAll('td.status > span')].map(b => ({text: text(b), shown: shown(b)})),
      resource: text(tr.querySelector('td.resource small')),
      reason: text(tr.querySelector('.suppression .reason')),
      reason_elements: tr.querySelector('.suppression .reason')
        ? tr.querySelector('.suppression .reason').children.length : null,
      expires: text(tr.querySelector('.suppression time')),
      owner: text(tr.querySelector('.suppression .owner')),
      text: text(tr),
    })),
    pass_lists: [...document.querySelectorAll('details.passes')].map(d => ({
      section: d.closest('section.rule').id, shown: shown(d)})),
    triage_shown: document.getElementById('triage') ? shown(document.getElementById('triage')) : null,
    expired: table('table.entries.expired'),
    unused: table('table.entries.unused'),
    fixed: table('table.fixed'),
  };
}"""


def main() -> None:
    report, screenshot = Path(sys.argv[1]).resolve(), sys.argv[2]
    out = {"requests": [], "dialogs": [], "errors": [], "console": [], "states": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        out["browser"] = browser.version
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: out["requests"].append(r.url))
        page.on("pageerror", lambda e: out["errors"].append(str(e)))
        page.on("console", lambda m: out["console"].append(f"{m.type}: {m.text}"))

        def dialog(d):
            out["dialogs"].append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.goto(report.as_uri(), wait_until="load")
        out["states"]["initial"] = page.evaluate(STATE)

        def click(label: str, name: str) -> None:
            # A real click on the label's text, where a person clicks.
            page.get_by_text(label, exact=False).click()
            out["states"][name] = page.evaluate(STATE)

        click("Hide passing results", "hide_pass")
        page.screenshot(path=screenshot, full_page=True)
        if page.locator("#hide-suppressed").count():
            click("Hide suppressed failures", "hide_pass_and_suppressed")
            click("Hide passing results", "hide_suppressed")
        # Reloaded, the browser may restore the boxes: what they show must apply.
        page.reload(wait_until="load")
        out["states"]["reloaded"] = page.evaluate(STATE)
        browser.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
