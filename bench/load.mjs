#!/usr/bin/env node
// Load test for a local `ridge serve`: N concurrent streaming clients send a
// bounded number of greedy chat requests over loopback and the script prints
// aggregate throughput, time to first token and inter-token latency
// percentiles. Needs only Node 18+ (fetch), no npm packages.
//
//   node bench/load.mjs --url http://127.0.0.1:8080 [--clients 8] [--requests 32]
//        [--max-tokens 64] [--key KEY] [--system-repeat 0] [--compare] [--check]
//
// --compare   runs the same load with 1 client first and prints the speed-up.
// --check     first runs every distinct request alone and verifies each
//             concurrent stream's text equals it (greedy decoding must not
//             depend on what else is batched).
// --system-repeat K  prepends a long system prompt (K sentences) shared by all
//             requests, to exercise the prefix cache (watch cached_tokens and TTFT).
const args = { url: "http://127.0.0.1:8080", clients: 8, requests: 32, "max-tokens": 64, key: "", "system-repeat": 0 };
const flags = new Set();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) throw new Error("unexpected argument " + a);
  const name = a.slice(2);
  if (name === "compare" || name === "check" || name === "help") { flags.add(name); continue; }
  if (!(name in args)) throw new Error("unknown option " + a);
  args[name] = process.argv[++i];
}
if (flags.has("help")) {
  console.log("usage: node bench/load.mjs --url URL [--clients N] [--requests M] [--max-tokens T] [--key KEY] [--system-repeat K] [--compare] [--check]");
  process.exit(0);
}
const clients = Number(args.clients), requests = Number(args.requests), maxTokens = Number(args["max-tokens"]);
const url = new URL(args.url);
if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(url.hostname))
  throw new Error("loopback only: refusing to load " + url.hostname);
if (!(clients >= 1 && clients <= 256)) throw new Error("--clients must be 1..256");
if (!(requests >= 1 && requests <= 10000)) throw new Error("--requests must be 1..10000");
if (!(maxTokens >= 1 && maxTokens <= 4096)) throw new Error("--max-tokens must be 1..4096");

const headers = { "Content-Type": "application/json" };
if (args.key) headers.Authorization = "Bearer " + args.key;
const subjects = ["a dragon", "a small robot", "the sea", "a lost key", "two friends", "a rainy day", "a garden", "the moon"];
const system = Number(args["system-repeat"]) > 0
  ? "You are a storyteller. ".repeat(1) + "Tell short, kind stories for children. ".repeat(Number(args["system-repeat"]))
  : "";

function requestBody(i) {
  const messages = [];
  if (system) messages.push({ role: "system", content: system });
  messages.push({ role: "user", content: `Tell me a story about ${subjects[i % subjects.length]}.` });
  return { messages, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } };
}

// One streamed request: text, token count, time to first token and the gaps between chunks.
async function streamOne(i) {
  const t0 = performance.now();
  const r = await fetch(new URL("/v1/chat/completions", url), {
    method: "POST", headers, body: JSON.stringify(requestBody(i)),
  });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", text = "", ttft = null, last = null, usage = null;
  const gaps = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith("data: ")) continue;
      const data = event.slice(6);
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.usage) usage = chunk.usage;
      const content = chunk.choices?.[0]?.delta?.content;
      if (content) {
        const now = performance.now();
        if (ttft === null) ttft = now - t0;
        else gaps.push(now - last);
        last = now;
        text += content;
      }
    }
  }
  return { text, ttft, gaps, tokens: usage ? usage.completion_tokens : 0, cached: usage?.prompt_tokens_details?.cached_tokens ?? 0 };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const fmt = (ms) => (Number.isFinite(ms) ? ms.toFixed(1) + " ms" : "n/a");

async function run(concurrency) {
  let next = 0;
  const results = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      const i = next++;
      results[i] = await streamOne(i);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  const ttfts = results.map((r) => r.ttft).filter((x) => x !== null).sort((a, b) => a - b);
  const gaps = results.flatMap((r) => r.gaps).sort((a, b) => a - b);
  const cached = results.reduce((s, r) => s + r.cached, 0);
  console.log(`clients ${concurrency}: ${requests} requests, ${tokens} tokens in ${seconds.toFixed(2)} s = ` +
              `${(tokens / seconds).toFixed(1)} tokens/s aggregate; cached prompt tokens ${cached}`);
  console.log(`  time to first token  p50 ${fmt(percentile(ttfts, 50))}  p90 ${fmt(percentile(ttfts, 90))}  p99 ${fmt(percentile(ttfts, 99))}`);
  console.log(`  inter-token latency  p50 ${fmt(percentile(gaps, 50))}  p90 ${fmt(percentile(gaps, 90))}  p99 ${fmt(percentile(gaps, 99))}`);
  return { results, throughput: tokens / seconds };
}

let failed = false;
let baseline = null;
if (flags.has("check")) {
  baseline = [];
  for (let i = 0; i < Math.min(requests, subjects.length); i++) baseline[i] = (await streamOne(i)).text;
}
let single = null;
if (flags.has("compare")) single = await run(1);
const loaded = await run(clients);
if (single) console.log(`speed-up with ${clients} clients: ${(loaded.throughput / single.throughput).toFixed(2)}x`);
if (baseline) {
  let mismatches = 0;
  loaded.results.forEach((r, i) => {
    const want = baseline[i % subjects.length];
    if (want !== undefined && r.text !== want) {
      mismatches++;
      if (mismatches <= 3) console.log(`  request ${i}: concurrent text differs from the same request alone`);
    }
  });
  console.log(`greedy consistency: ${loaded.results.length - mismatches}/${loaded.results.length} streams equal the request run alone`);
  if (mismatches > 0) failed = true;
}
process.exit(failed ? 1 : 0);
