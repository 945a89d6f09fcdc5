# syntax=docker/dockerfile:1
# nndl GPU training worker: the tfjs engine backend on @tensorflow/tfjs-node-gpu 4.x, which needs
# CUDA 11.2 + cuDNN 8.1 and glibc (not Alpine). Same sources as docker/Dockerfile; the native addon
# is built too, so this worker can also serve jobs that ask for `backend: "native"`.
#   docker build -f docker/worker-gpu.Dockerfile -t nndl-worker-gpu .
#   docker run --gpus all -e REDIS_URL=redis://... -e DATA_DIR=/data -v nndl-data:/data nndl-worker-gpu
# Not built here (no Docker engine, no GPU on the dev machine): see docker/README.md.

ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
# Node 22 LTS: Node 23+ headers make node-gyp pass -std=gnu++20, which Ubuntu 20.04's GCC 9 (the
# CUDA 11.2 base) does not know. Checked against the release's SHASUMS256.txt before unpacking.
ARG NODE_VERSION=22.14.0

FROM ${CUDA_IMAGE} AS node-base
ARG NODE_VERSION
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl xz-utils tini \
 && cd /tmp \
 && curl -fsSLO "https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz" \
 && curl -fsSL "https://nodejs.org/dist/v${NODE_VERSION}/SHASUMS256.txt" | grep " node-v${NODE_VERSION}-linux-x64.tar.xz\$" | sha256sum -c - \
 && tar -xJf "node-v${NODE_VERSION}-linux-x64.tar.xz" -C /usr/local --strip-components=1 --exclude='*.md' --exclude=LICENSE \
 && rm "node-v${NODE_VERSION}-linux-x64.tar.xz" \
 && node --version \
 && rm -rf /var/lib/apt/lists/*

FROM node-base AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas-dev python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Ubuntu 20.04's GCC 9 predates -march=x86-64-v3; haswell is the same AVX2/FMA level.
ENV NNDL_MARCH=haswell
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
# tfjs-node-gpu's install script downloads libtensorflow (GPU build) into its own folder.
RUN npm ci --no-audit --no-fund \
 && npm install --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0 \
 && npm prune --omit=dev --no-audit --no-fund \
 && ls node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node

FROM node-base AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 node
WORKDIR /app
ENV NODE_ENV=production \
    DATA_DIR=/data \
    ENGINE_BACKEND=tfjs \
    WORKER_BACKENDS=tfjs,native \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    TF_CPP_MIN_LOG_LEVEL=1
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/build/Release/nndl.node ./build/Release/nndl.node
COPY package.json tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY scripts ./scripts
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# tini passes SIGTERM on, so a stopping worker checkpoints its job for another one.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "workers/train.worker.ts"]
