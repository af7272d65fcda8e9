// Drives ridge's chat page in headless Chromium (Debian's, via playwright-core):
// types a message, checks the reply appears in several streamed increments,
// and that the final text equals what the API returns for the same greedy request.
// usage: node web_page_test.mjs BASE_URL
import { chromium } from "playwright-core";

const base = process.argv[2];
if (!base) {
  console.error("usage: node web_page_test.mjs BASE_URL");
  process.exit(2);
}
const fail = (msg) => {
  console.error("FAIL: " + msg);
  process.exit(1);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => fail("page error: " + e.message));
  await page.goto(base + "/");
  // Throttle the network (DevTools emulation) so the reply's SSE events reach
  // the page over about a second whatever the server's speed: the page must
  // show text while the stream is still arriving.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: 16 * 1024, uploadThroughput: -1,
  });
  await page.waitForFunction(() => !document.getElementById("model").textContent.includes("…"));
  const prompt = "Tell me a story about a cat.";
  const maxTokens = 120;
  await page.fill("#temperature", "0");
  await page.fill("#max-tokens", String(maxTokens));
  // Record every length the reply passes through while it streams.
  await page.evaluate(() => {
    window.__lengths = [];
    new MutationObserver(() => {
      const el = document.querySelector(".msg.assistant");
      if (el) window.__lengths.push(el.textContent.length);
    }).observe(document.getElementById("messages"), { subtree: true, childList: true, characterData: true });
  });
  await page.fill("#input", prompt);
  await page.click("#send");
  await page.waitForSelector(".msg.assistant.done", { timeout: 60000 });
  const errors = await page.locator(".msg.error").count();
  if (errors) fail("the page shows an error: " + (await page.locator(".msg.error").first().textContent()));
  const lengths = await page.evaluate(() => [...new Set(window.__lengths)].filter((n) => n > 0));
  // The assistant bubble holds a role label and the reply text.
  const replyText = await page.evaluate(() => {
    const el = document.querySelector(".msg.assistant");
    const role = el.querySelector(".role");
    return el.textContent.slice(role ? role.textContent.length : 0);
  });
  if (!replyText.trim()) fail("empty reply");
  if (lengths.length < 3) fail(`reply did not stream (text lengths seen: ${JSON.stringify(lengths)})`);

  const r = await fetch(base + "/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: prompt }], temperature: 0, max_tokens: maxTokens }),
  });
  const j = await r.json();
  const apiText = j.choices[0].message.content;
  if (apiText !== replyText) fail(`page text differs from the API's:\npage: ${JSON.stringify(replyText)}\napi:  ${JSON.stringify(apiText)}`);
  console.log(`ok: ${replyText.length} chars streamed in ${lengths.length} updates`);
} finally {
  await browser.close();
}
