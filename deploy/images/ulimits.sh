# Sourced by the image scripts: explicit --ulimit options for podman run/build. Podman's defaults (and
# `--ulimit host`) ask for limits above this process's hard limits, which runc may not set without
# CAP_SYS_RESOURCE (a CI sandbox, a container); limits at or below ours always work.
lim() { local v; v="$(ulimit -H "$1")"; if [ "$v" = unlimited ] || [ "$v" -gt "$2" ]; then v="$2"; fi; echo "$v"; }
PODMAN_ULIMITS=(--ulimit "nofile=$(lim -n 16384):$(lim -n 16384)" --ulimit "nproc=$(lim -u 16384):$(lim -u 16384)")
