#!/usr/bin/env bash
# `make run`: the main job on the sample raster shipped in samples/ (USDA NAIP 2020, 5 m, North Dakota).
# Uses the default model (fetched from the model hub on first use) or whatever GEORSMLLM_* settings say
# (see README). When no model can be loaded (no hub reachable, no local folder), it says how to point at
# one and then runs the same pipeline with the scripted demo engine, clearly labelled as canned answers.
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p out
INSTRUCTION=${INSTRUCTION:-"[detection] ponds and small lakes"}

"$PY" -m model_backend run --raster samples/naip_2020.tif --instruction "$INSTRUCTION" \
    --output out/sample.gpkg --geojson out/sample.geojson --run-name sample
rc=$?
if [ $rc -ne 3 ]; then
    exit $rc
fi
cat <<'MSG'

No model could be loaded. To run a real model, either
  - point at a local checkpoint folder:   GEORSMLLM_MODEL=/path/to/checkpoint make run
  - or at a hub id on a machine that reaches the model hub (it is fetched once into the hub cache):
                                          GEORSMLLM_MODEL=Qwen/Qwen3-VL-2B-Instruct make run
  - or at an OpenAI-compatible model server (vLLM, SGLang, Ollama):
        GEORSMLLM_ENGINE=openai GEORSMLLM_BASE_URL=http://HOST:8000/v1 GEORSMLLM_MODEL=NAME make run

Meanwhile, the same pipeline with the SCRIPTED DEMO ENGINE (canned answers from samples/demo_answers.json,
not model output), so you can see the whole data flow and open the result in QGIS:
MSG
exec "$PY" -m model_backend run --raster samples/naip_2020.tif --instruction "$INSTRUCTION" \
    --output out/sample.gpkg --geojson out/sample.geojson --run-name sample_scripted_demo \
    --engine scripted --script samples/demo_answers.json --segmenter none
