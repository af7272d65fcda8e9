// Drives a live `ridge serve` with the official OpenAI SDK, unmodified:
//   node openai_sdk_test.mjs <baseURL> <apiKey>
// Chat and completions (streaming and not), n > 1, stop, seed
// reproducibility, logprobs, embeddings, the model list, and the SDK's error
// classes for a bad field, a bad key and an unknown model. Exits non-zero on
// any failure, printing each check's result.
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
if (!baseURL || !apiKey) {
  console.error("usage: node openai_sdk_test.mjs <baseURL> <apiKey>");
  process.exit(2);
}
const client = new OpenAI({ baseURL: baseURL + "/v1", apiKey, maxRetries: 0, timeout: 120_000 });

let failures = 0;
function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}
async function test(name, fn) {
  try {
    await fn();
    console.log("ok   " + name);
  } catch (e) {
    failures++;
    console.log("FAIL " + name + ": " + (e && e.stack ? e.stack : e));
  }
}
async function expectError(cls, fn, what) {
  try {
    await fn();
  } catch (e) {
    check(e instanceof cls, `${what}: expected ${cls.name}, got ${e && e.constructor && e.constructor.name}: ${e.message}`);
    return e;
  }
  throw new Error(`${what}: expected ${cls.name}, but the call succeeded`);
}

const models = await client.models.list();
const model = models.data[0].id;
const messages = [{ role: "user", content: "Once upon a time" }];

await test("models.list", async () => {
  check(models.data.length === 1, "one model");
  check(models.data[0].object === "model", "object is model");
  const m = await client.models.retrieve(model);
  check(m.id === model, "retrieve returns it");
});

await test("chat: non-streaming, then streaming gives the same greedy text", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
  check(r.object === "chat.completion", "object");
  const text = r.choices[0].message.content;
  check(typeof text === "string" && text.length > 0, "content");
  check(["stop", "length"].includes(r.choices[0].finish_reason), "finish_reason " + r.choices[0].finish_reason);
  check(r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens, "usage adds up");
  check(typeof r.usage.prompt_tokens_details.cached_tokens === "number", "cached_tokens");

  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let streamed = "";
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.content) streamed += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  check(streamed === text, `stream ${JSON.stringify(streamed)} == ${JSON.stringify(text)}`);
  check(finish === r.choices[0].finish_reason, "same finish_reason");
  check(usage && usage.completion_tokens === r.usage.completion_tokens, "usage in the last chunk");
});

await test("completions: non-streaming and streaming agree", async () => {
  const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 10, temperature: 0 });
  check(r.object === "text_completion", "object");
  const text = r.choices[0].text;
  check(text.length > 0, "text");
  const stream = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 10, temperature: 0, stream: true,
  });
  let streamed = "";
  for await (const chunk of stream) for (const c of chunk.choices) streamed += c.text;
  check(streamed === text, `stream ${JSON.stringify(streamed)} == ${JSON.stringify(text)}`);
});

await test("n > 1 gives separate choices", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 16, temperature: 1, n: 3, seed: 5 });
  check(r.choices.length === 3, "three choices");
  check(r.choices.map((c) => c.index).join() === "0,1,2", "indices");
  const texts = new Set(r.choices.map((c) => c.message.content));
  check(texts.size > 1, "choices differ");
});

await test("stop ends the text before the stop string", async () => {
  const full = (await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 24, temperature: 0 }))
    .choices[0].text;
  check(full.length > 12, "long enough: " + JSON.stringify(full));
  const stop = full.slice(8, 11);
  const r = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 24, temperature: 0, stop: [stop],
  });
  check(r.choices[0].text === full.slice(0, full.indexOf(stop)), "text before stop: " + JSON.stringify(r.choices[0].text));
  check(r.choices[0].finish_reason === "stop", "finish_reason stop");
});

await test("seed reproduces a sampled completion", async () => {
  const ask = (seed) =>
    client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 1, seed }).then(
      (r) => r.choices[0].message.content);
  const a = await ask(42), b = await ask(42);
  check(a === b, "same seed, same text");
  const others = await Promise.all([ask(43), ask(44), ask(45)]);
  check(others.some((t) => t !== a), "other seeds give other text");
});

await test("chat logprobs with top_logprobs", async () => {
  const r = await client.chat.completions.create({
    model, messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2,
  });
  const lp = r.choices[0].logprobs;
  check(lp && Array.isArray(lp.content), "logprobs.content");
  check(lp.content.length === r.usage.completion_tokens, "one entry per token");
  for (const t of lp.content) {
    check(typeof t.token === "string" && t.logprob <= 0, "token and logprob");
    check(t.top_logprobs.length === 2, "two alternatives");
    check(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob, "best first");
  }
});

await test("embeddings (the SDK's default base64 and explicit float)", async () => {
  const r = await client.embeddings.create({ model, input: ["hello", "world"] });
  check(r.data.length === 2, "two vectors");
  const v = r.data[0].embedding;
  check(Array.isArray(v) && v.length > 0, "decoded vector");
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  check(Math.abs(norm - 1) < 1e-3, "normalised: " + norm);
  const f = await client.embeddings.create({ model, input: "hello", encoding_format: "float" });
  check(f.data[0].embedding.length === v.length, "same dimension");
  for (let i = 0; i < v.length; i++) check(Math.abs(f.data[0].embedding[i] - v[i]) < 1e-6, "same values");
});

await test("a bad field is a BadRequestError naming it", async () => {
  const e = await expectError(OpenAI.BadRequestError, () =>
    client.chat.completions.create({ model, messages, temperature: 7 }), "temperature 7");
  check(e.status === 400, "status 400");
  check(e.param === "temperature", "param: " + e.param);
  const u = await expectError(OpenAI.BadRequestError, () =>
    client.chat.completions.create({ model, messages, tools: [{ type: "function", function: { name: "f" } }] }), "tools");
  check(/not supported/.test(u.message), "says not supported: " + u.message);
  await expectError(OpenAI.BadRequestError, () =>
    client.chat.completions.create({ model, messages: [{ role: "wizard", content: "x" }] }), "unknown role");
});

await test("a bad key is an AuthenticationError", async () => {
  const bad = new OpenAI({ baseURL: baseURL + "/v1", apiKey: apiKey + "-wrong", maxRetries: 0 });
  const e = await expectError(OpenAI.AuthenticationError, () => bad.models.list(), "wrong key");
  check(e.status === 401, "status 401");
});

await test("an unknown model is a NotFoundError", async () => {
  const e = await expectError(OpenAI.NotFoundError, () =>
    client.chat.completions.create({ model: "no-such-model", messages }), "unknown model");
  check(e.status === 404 && e.code === "model_not_found", "404 model_not_found");
});

if (failures > 0) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log("all OpenAI SDK checks passed");
