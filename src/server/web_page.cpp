// Generated from web/index.html by web/embed.sh; edit the page there, then rerun the script.
#include "server/web_page.h"

namespace ridge::server {

namespace {
constexpr char kChatPage[] = R"ridge_page(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ridge chat</title>
<style>
  :root { color-scheme: light dark; --accent: #2f6fdf; --muted: #888; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, sans-serif; display: flex; flex-direction: column; height: 100vh; }
  header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; border-bottom: 1px solid #8884; flex-wrap: wrap; }
  header h1 { font-size: 1.1em; margin: 0; }
  header label { color: var(--muted); font-size: .85em; }
  header input { width: 6em; }
  header input#api-key { width: 12em; }
  #messages { flex: 1; overflow-y: auto; padding: 1em; }
  .msg { max-width: 48em; margin: 0 auto .8em; padding: .5em .8em; border-radius: 8px; white-space: pre-wrap; word-wrap: break-word; }
  .msg.user { background: #2f6fdf22; }
  .msg.assistant { background: #8881; }
  .msg.error { background: #d0303033; }
  .msg .role { display: block; font-size: .75em; color: var(--muted); text-transform: uppercase; }
  form { display: flex; gap: .5em; padding: .8em 1em; border-top: 1px solid #8884; }
  textarea { flex: 1; resize: vertical; min-height: 3em; font: inherit; padding: .4em; }
  button { font: inherit; padding: 0 1.2em; }
  #status { color: var(--muted); font-size: .85em; }
</style>
</head>
<body>
<header>
  <h1>ridge chat</h1>
  <span id="model">model: …</span>
  <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.7"></label>
  <label>max tokens <input id="max-tokens" type="number" min="1" step="1" value="512"></label>
  <label>API key <input id="api-key" type="password" placeholder="if the server needs one" autocomplete="off"></label>
  <button id="clear" type="button">New chat</button>
  <span id="status"></span>
</header>
<main id="messages" aria-live="polite"></main>
<form id="composer">
  <textarea id="input" placeholder="Type a message; Enter sends, Shift+Enter adds a line" autofocus></textarea>
  <button id="send" type="submit">Send</button>
  <button id="stop" type="button" disabled>Stop</button>
</form>
<script>
"use strict";
// The conversation so far, in the OpenAI message format the server takes.
const conversation = [];
let modelName = "";
let controller = null;  // aborts the stream in flight

const $ = (id) => document.getElementById(id);
const keyInput = $("api-key");
keyInput.value = localStorage.getItem("ridge-api-key") || "";
keyInput.addEventListener("change", () => { localStorage.setItem("ridge-api-key", keyInput.value); loadModel(); });

function headers() {
  const h = { "Content-Type": "application/json" };
  if (keyInput.value) h["Authorization"] = "Bearer " + keyInput.value;
  return h;
}

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  const label = document.createElement("span");
  label.className = "role";
  label.textContent = role;
  const body = document.createElement("span");
  body.className = "content";
  body.textContent = text;
  div.append(label, body);
  $("messages").append(div);
  div.scrollIntoView({ block: "end" });
  return body;
}

async function loadModel() {
  try {
    const r = await fetch("/v1/models", { headers: headers() });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error ? j.error.message : r.statusText);
    modelName = j.data[0].id;
    $("model").textContent = "model: " + modelName;
  } catch (e) {
    $("model").textContent = "model: unavailable (" + e.message + ")";
  }
}

// Reads server-sent events from a fetch body; calls onData with each "data:" payload.
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (data && onData(data) === false) return;
    }
  }
}

async function send(text) {
  conversation.push({ role: "user", content: text });
  addMessage("user", text);
  const out = addMessage("assistant", "");
  out.parentElement.classList.add("streaming");
  controller = new AbortController();
  $("send").disabled = true;
  $("stop").disabled = false;
  $("status").textContent = "generating…";
  let reply = "";
  try {
    const request = {
      messages: conversation,
      stream: true,
      temperature: Number($("temperature").value),
      max_tokens: Number($("max-tokens").value),
    };
    if (modelName) request.model = modelName;
    const r = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), body: JSON.stringify(request), signal: controller.signal,
    });
    if (!r.ok) {
      const j = await r.json().catch(() => ({}));
      throw new Error(j.error ? j.error.message : r.status + " " + r.statusText);
    }
    await readEvents(r.body, (data) => {
      if (data === "[DONE]") return false;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const choice = chunk.choices && chunk.choices[0];
      if (choice && choice.delta && choice.delta.content) {
        reply += choice.delta.content;
        out.textContent = reply;
        out.parentElement.scrollIntoView({ block: "end" });
      }
      return true;
    });
    $("status").textContent = "";
  } catch (e) {
    if (e.name === "AbortError") {
      $("status").textContent = "stopped";
    } else {
      addMessage("error", e.message);
      $("status").textContent = "";
    }
  } finally {
    conversation.push({ role: "assistant", content: reply });
    out.parentElement.classList.remove("streaming");
    out.parentElement.classList.add("done");
    controller = null;
    $("send").disabled = false;
    $("stop").disabled = true;
  }
}

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("input").value.trim();
  if (!text || controller) return;
  $("input").value = "";
  send(text);
});
$("input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    $("composer").requestSubmit();
  }
});
$("stop").addEventListener("click", () => { if (controller) controller.abort(); });
$("clear").addEventListener("click", () => {
  if (controller) controller.abort();
  conversation.length = 0;
  $("messages").replaceChildren();
});
loadModel();
</script>
</body>
</html>
)ridge_page";
}  // namespace

std::string_view chat_page_html() { return {kChatPage, sizeof(kChatPage) - 1}; }

}  // namespace ridge::server
