// llama.cpp's side of bench/side_by_side.sh: loads a GGUF with node-llama-cpp
// (its prebuilt CPU llama.cpp) and measures what `ridge bench` measures, the
// way llama-bench does: ppP = one decode of a P-token batch (logits for the
// last token only), tgN = N decodes of one token each (logits every step),
// random token ids, a fresh context per repetition, one warm-up first. With
// -d D each test starts on a context already holding D tokens (one batch,
// not timed), as llama-bench -d and `ridge bench -d`.
// Prints one JSON object per line per test.
//
// usage: node bench/llama_cpp_bench.mjs MODEL.gguf [-p 512] [-n 128] [-d 0] [-t 2] [-r 1]
import path from "node:path";

import { loadNodeLlamaCpp } from "./node_llama_cpp.mjs";

function parseArgs(argv) {
  const opt = { model: null, p: 512, n: 128, d: 0, t: 2, r: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const int = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer, got '${argv[i]}'`);
      return v;
    };
    if (a === "-p") opt.p = int();
    else if (a === "-n") opt.n = int();
    else if (a === "-d") opt.d = int();
    else if (a === "-t") opt.t = int();
    else if (a === "-r") opt.r = int();
    else if (!a.startsWith("-") && !opt.model) opt.model = a;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opt.model) throw new Error("usage: node bench/llama_cpp_bench.mjs MODEL.gguf [-p 512] [-n 128] [-d 0] [-t 2] [-r 1]");
  if (opt.t < 1 || opt.r < 1) throw new Error("-t and -r must be at least 1");
  return opt;
}

// A small seeded generator: the same token ids every run.
function tokenSource(nVocab, seed = 1234) {
  let s = BigInt(seed);
  return () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number((s >> 33n) % BigInt(nVocab));
  };
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const { getLlama, LlamaLogLevel } = await loadNodeLlamaCpp();
  // maxThreads 0: the context's thread count is used as given, not capped by a shared budget.
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 0, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: opt.model, gpuLayers: 0 });
  const embd = model.fileInfo.tensorInfo?.find((t) => t.name === "token_embd.weight");
  if (!embd) throw new Error(`${opt.model}: no token_embd.weight tensor`);
  const nVocab = Number(embd.dimensions[1]);
  const next = tokenSource(nVocab);
  const contextSize = opt.d + Math.max(opt.p, opt.n) + 64;

  // One repetition of a test on a fresh context; returns seconds.
  async function runOnce(kind, count) {
    const context = await model.createContext({
      contextSize,
      batchSize: Math.max(opt.p, opt.d, 1),
      threads: { ideal: opt.t, min: opt.t },
      sequences: 1,
    });
    try {
      const seq = context.getSequence();
      if (opt.d > 0) {
        const depth = [];
        for (let i = 0; i < opt.d; i++) depth.push(next());
        await seq.controlledEvaluate(depth);
      }
      const t0 = process.hrtime.bigint();
      if (kind === "pp") {
        const input = [];
        for (let i = 0; i < count; i++) input.push(i + 1 === count ? [next(), { generateNext: { token: true } }] : next());
        await seq.controlledEvaluate(input);
      } else {
        for (let i = 0; i < count; i++) await seq.controlledEvaluate([[next(), { generateNext: { token: true } }]]);
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    } finally {
      await context.dispose();
    }
  }

  const tests = [];
  // Named as ridge bench names them (llama-bench's names): "tg128", "tg128 @ d1024".
  const atDepth = opt.d > 0 ? ` @ d${opt.d}` : "";
  if (opt.p > 0) tests.push({ name: `pp${opt.p}${atDepth}`, kind: "pp", count: opt.p });
  if (opt.n > 0) tests.push({ name: `tg${opt.n}${atDepth}`, kind: "tg", count: opt.n });
  for (const t of tests) {
    await runOnce(t.kind, t.kind === "pp" ? t.count : 1);  // warm-up
    const samples = [];
    for (let i = 0; i < opt.r; i++) samples.push(t.count / (await runOnce(t.kind, t.count)));
    console.log(
      JSON.stringify({
        engine: "llama.cpp",
        engine_version: "node-llama-cpp 3.21.1",
        test: t.name,
        tokens_per_s: median(samples),
        samples_tokens_per_s: samples,
        threads: opt.t,
        model: opt.model,
        model_file: path.basename(opt.model),
      }),
    );
  }
  await model.dispose();
  await llama.dispose();
}

main().catch((e) => {
  console.error(`llama_cpp_bench: ${e.message ?? e}`);
  process.exit(1);
});
