// Reference renderer for ridge's chat-template tests: reads one JSON job from
// stdin, renders every case with @huggingface/jinja (which always lexes with
// trim_blocks and lstrip_blocks on) and prints a JSON array of results.
//
// Job:    {"cases": [{"template": "...", "vars": {...}, "fixed_time": <seconds or null>}, ...]}
// Result: [{"ok": true, "text": "..."} | {"ok": false, "error": "..."}, ...]
//
// strftime_now uses `new Date()` inside the package; for a case with
// fixed_time the clock is pinned by swapping in a Date whose "now" is that
// instant. TZ is UTC so local-time fields equal the UTC ones ridge uses.
process.env.TZ = "UTC";

import { Template } from "@huggingface/jinja";
import { readFileSync } from "node:fs";

const RealDate = globalThis.Date;

function pinnedDate(ms) {
  return class PinnedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(ms);
      else super(...args);
    }
    static now() {
      return ms;
    }
  };
}

const job = JSON.parse(readFileSync(0, "utf8"));
const templates = new Map();
const results = job.cases.map((c) => {
  try {
    let tmpl = templates.get(c.template);
    if (!tmpl) {
      tmpl = new Template(c.template);
      templates.set(c.template, tmpl);
    }
    globalThis.Date = c.fixed_time == null ? RealDate : pinnedDate(c.fixed_time * 1000);
    try {
      return { ok: true, text: tmpl.render(c.vars) };
    } finally {
      globalThis.Date = RealDate;
    }
  } catch (e) {
    return { ok: false, error: String(e && e.message !== undefined ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(results));
