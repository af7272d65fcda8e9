// Checks that llama.cpp (the prebuilt one in node-llama-cpp 3.21.1) loads GGUF
// files that ridge wrote (`ridge gen-model`, `ridge quantize`) and runs them:
// load, a context, a prompt, 8 greedy tokens. With --ridge PATH it also runs
// `ridge run --temp 0` on the same file and prompt and reports whether the two
// engines' greedy continuations agree (informational: on random weights near
// ties can flip a token; llama.cpp rounds activations differently).
// Exits 1 when any file fails to load or run in llama.cpp.
//
// usage: node bench/check_llama_cpp_loads.mjs [--ridge build/ridge] FILE.gguf...
import { execFileSync } from "node:child_process";

import { loadNodeLlamaCpp } from "./node_llama_cpp.mjs";

const PROMPT = "Once upon a time";
const N_GEN = 8;

function typeSummary(fileInfo, GgmlType) {
  const counts = new Map();
  for (const t of fileInfo.tensorInfo ?? []) {
    const name = GgmlType[t.ggmlType] ?? `type ${t.ggmlType}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k}: ${v}`).join(", ");
}

async function main() {
  const args = process.argv.slice(2);
  let ridge = null;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--ridge") ridge = args[++i];
    else files.push(args[i]);
  }
  if (files.length === 0) throw new Error("usage: node bench/check_llama_cpp_loads.mjs [--ridge PATH] FILE.gguf...");

  const { getLlama, LlamaLogLevel, GgmlType } = await loadNodeLlamaCpp();
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 0, logLevel: LlamaLogLevel.error });
  let failures = 0;
  for (const file of files) {
    try {
      const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
      const context = await model.createContext({ contextSize: 256, threads: 1 });
      const seq = context.getSequence();
      const bos = model.tokens.bos;
      const prompt = [...(bos != null ? [bos] : []), ...model.tokenize(PROMPT)];
      const generated = [];
      for await (const token of seq.evaluate(prompt, { temperature: 0 })) {
        if (model.isEogToken(token)) break;
        generated.push(token);
        if (generated.length >= N_GEN) break;
      }
      const text = model.detokenize(generated);
      console.log(`OK   ${file}`);
      console.log(`     llama.cpp: ${model.fileInfo.metadata?.general?.name ?? ""}, ` +
        `file_type ${model.fileInfo.metadata?.general?.file_type ?? "unset"}, tensors { ${typeSummary(model.fileInfo, GgmlType)} }`);
      console.log(`     llama.cpp greedy: ${JSON.stringify(text)} (ids ${generated.join(" ")})`);
      if (ridge) {
        const out = execFileSync(ridge, ["run", "-m", file, "-p", PROMPT, "-n", String(N_GEN), "--temp", "0", "-t", "1"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        }).replace(/\n$/, "");
        // llama.cpp's detokenizer drops the first token's leading space; ridge keeps it when continuing a prompt.
        const a = out.replace(/^ /, ""), b = text.replace(/^ /, "");
        let same = 0;
        while (same < Math.min(a.length, b.length) && a[same] === b[same]) same++;
        const verdict = a === b ? "same text" : `same for the first ${same} of ${b.length} characters`;
        console.log(`     ridge greedy:     ${JSON.stringify(out)} -> ${verdict}`);
      }
      await context.dispose();
      await model.dispose();
    } catch (e) {
      failures++;
      console.log(`FAIL ${file}: ${e.message ?? e}`);
    }
  }
  await llama.dispose();
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error(`check_llama_cpp_loads: ${e.message ?? e}`);
  process.exit(1);
});
