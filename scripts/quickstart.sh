#!/usr/bin/env bash
# Builds ridge and serves the default model (OpenAI-compatible API + chat page;
# it prints the page's URL): $RIDGE_MODEL if set, else
# ../shared/testdata/models/stories260K.gguf when present, else that same file
# downloaded from Hugging Face (ggml-org/models) into models/, hash-checked.
# Extra arguments go to `ridge serve` (e.g. --port 9000).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh" >/dev/null

STORIES_URL="https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf"
STORIES_SHA256="270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"

model="${RIDGE_MODEL:-}"
if [ -z "$model" ]; then
  shared="${RIDGE_TEST_DATA:-$root/../shared/testdata}/models/stories260K.gguf"
  if [ -f "$shared" ]; then
    model="$shared"
  else
    model="$root/models/stories260K.gguf"
    if [ ! -f "$model" ]; then
      mkdir -p "$root/models"
      echo "downloading $STORIES_URL" >&2
      curl -fL --progress-bar -o "$model.part" "$STORIES_URL"
      got="$(sha256sum "$model.part" | cut -d' ' -f1)"
      if [ "$got" != "$STORIES_SHA256" ]; then
        rm -f "$model.part"
        echo "error: sha256 mismatch for stories260K.gguf: got $got, want $STORIES_SHA256" >&2
        exit 1
      fi
      mv "$model.part" "$model"
    fi
  fi
fi

exec "$root/build/ridge" serve -m "$model" "$@"
