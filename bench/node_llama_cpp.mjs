// Imports node-llama-cpp from bench/node (where side_by_side.sh installs it,
// pinned) for the scripts in bench/, which live outside that package.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const requireFromPeers = createRequire(new URL("./node/package.json", import.meta.url));

export async function loadNodeLlamaCpp() {
  let entry;
  try {
    entry = requireFromPeers.resolve("node-llama-cpp");
  } catch {
    throw new Error("node-llama-cpp is not installed: run (cd bench/node && npm ci --omit=optional)");
  }
  return import(pathToFileURL(entry).href);
}
