// Summarizes bench/side_by_side.sh's raw JSON lines: per test, the median
// tokens/s of each engine over the rounds (llama.cpp's best thread count), the
// ratio ridge / llama.cpp, and ridge's roofline figures (medians).
//
// usage: node bench/side_by_side_summary.mjs ridge.jsonl llama_cpp.jsonl
import { readFileSync } from "node:fs";

const readLines = (p) =>
  readFileSync(p, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const group = (rows, key) => {
  const m = new Map();
  for (const r of rows) {
    const k = key(r);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(r);
  }
  return m;
};
const f = (x, d = 2) => (x == null || Number.isNaN(x) ? "-" : x.toFixed(d));

const [ridgePath, llamaPath] = process.argv.slice(2);
if (!ridgePath || !llamaPath) {
  console.error("usage: node bench/side_by_side_summary.mjs ridge.jsonl llama_cpp.jsonl");
  process.exit(1);
}
const ridge = readLines(ridgePath);
const llama = readLines(llamaPath);
if (ridge.length === 0) {
  console.error("side_by_side_summary: no ridge results");
  process.exit(1);
}
const first = ridge[0];
const llamaThreads = [...new Set(llama.map((r) => r.threads))].sort((a, b) => a - b);
const ridgeByTest = group(ridge, (r) => r.test);
const llamaByTest = group(llama, (r) => `${r.test}/${r.threads}`);

console.log(`model: ${first.model} (${first.model_name}), type ${first.type}, ridge kernels ${first.kernel_path}`);
console.log(
  `ridge rooflines (median of rounds): streaming read ${f(median(ridge.map((r) => r.bandwidth_gb_s)))} GB/s, ` +
    `FP32 FMA peak ${f(median(ridge.map((r) => r.fma_peak_gflops)), 1)} GFLOP/s (${first.fma_isa}), ${first.threads} threads`,
);
console.log("");
const head = ["test", `ridge t/s (${first.threads} thr)`, ...llamaThreads.map((t) => `llama.cpp t/s (${t} thr)`),
  "ridge / llama.cpp best", "ridge GFLOP/s / FMA peak", "ridge decode / bandwidth roofline"];
console.log(`| ${head.join(" | ")} |`);
console.log(`| ${head.map((_, i) => (i ? "---:" : "---")).join(" | ")} |`);
for (const [test, rows] of ridgeByTest) {
  const r = median(rows.map((x) => x.tokens_per_s));
  const perThreads = llamaThreads.map((t) => {
    const l = llamaByTest.get(`${test}/${t}`);
    return l ? median(l.map((x) => x.tokens_per_s)) : null;
  });
  const known = perThreads.filter((x) => x != null);
  const best = known.length ? Math.max(...known) : null;
  console.log(
    `| ${test} | ${f(r)} | ${perThreads.map((x) => f(x)).join(" | ")} | ${best ? f(r / best) : "-"} | ` +
      `${f(median(rows.map((x) => x.fma_peak_ratio)))} | ${f(100 * median(rows.map((x) => x.bandwidth_share)), 1)}% |`,
  );
}
