# MemArc client image for GPU nodes: `memarc client` with @tensorflow/tfjs-node-gpu.
# Build from the repository root:  docker build -f docker/client.Dockerfile -t memarc/client .
#
# CUDA base: tfjs-node-gpu 4.22 loads libtensorflow 2.9.1 (LIBTENSORFLOW_VERSION in its
# scripts/deps-constants.js), which is built against CUDA 11.2 and cuDNN 8.1 (it dlopens
# libcudart.so.11.0 and libcudnn.so.8; TensorFlow 2.9's tested build configuration). A CUDA 12 image
# would load no GPU and silently train on wasm, so the base is pinned to the matching runtime:
# nvidia/cuda 11.2.2-cudnn8 ships CUDA 11.2.2 and cuDNN 8.1.1.33. The runtime stage checks both
# versions at build time, so a base bumped to another CUDA/cuDNN fails the build instead.
# Without a GPU (or without the NVIDIA container runtime) MEMARC_BACKEND=auto falls back to wasm.
# No key, token or data is baked in; see docs/docker.md.

# Node 20 comes from the official pinned image (the same release binaries nodejs.org publishes);
# they need glibc >= 2.28, Ubuntu 20.04 has 2.31.
FROM node:20.20.2-bookworm-slim AS node

# ---- build: lockfile install, tfjs-node-gpu's native binding + libtensorflow GPU, TypeScript ----
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
# Compilers only for node-pre-gyp's fallback if the prebuilt binding cannot be fetched; build stage only.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# Install the lockfile without scripts, then run only tfjs-node-gpu's install script: it downloads
# libtensorflow-gpu 2.9.1 and the prebuilt N-API binding into node_modules (fails the build if it cannot).
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild @tensorflow/tfjs-node-gpu --foreground-scripts \
 && test -e node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node \
 && npx tsc -b apps/cli packages/ops \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf /root/.npm /root/.cache

# ---- runtime ----
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
# What libtensorflow 2.9.1 needs: CUDA 11.2 (the base image's CUDA_VERSION) and cuDNN 8.1 (the
# installed libcudnn8 package, 8.1.1.33-1+cuda11.2 in this base).
RUN case "${CUDA_VERSION}" in 11.2.*) ;; *) echo "CUDA ${CUDA_VERSION}: tfjs-node-gpu 4.22 needs CUDA 11.2" >&2; exit 1 ;; esac \
 && cudnn="$(dpkg-query -W -f='${Version}' libcudnn8)" \
 && case "${cudnn}" in 8.1.*) ;; *) echo "cuDNN ${cudnn}: tfjs-node-gpu 4.22 needs cuDNN 8.1" >&2; exit 1 ;; esac
COPY --from=node /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production \
    MEMARC_BACKEND=auto \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN groupadd --system --gid 10001 memarc \
 && useradd --system --uid 10001 --gid memarc --home-dir /home/memarc --create-home --shell /usr/sbin/nologin memarc \
 && mkdir -p /state /keys /public \
 && chown memarc:memarc /state \
 && chmod 0700 /state
COPY --from=build /app /app
RUN ln -s /app/apps/cli/bin/memarc.js /usr/local/bin/memarc
USER memarc
WORKDIR /state
# The node's local accountant (--state) survives container restarts here.
VOLUME ["/state"]
ENTRYPOINT ["memarc"]
CMD ["client", "--help"]
