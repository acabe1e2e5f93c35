# The original `docker run -e EMR_PREFIX=… -e EMR_REGION=… -e AUTOSCALER_CLUSTER=…
# -e AUTOSCALER_REGION=… -e AUTOSCALER_SERVICE=…` keeps working: the default command is the loop.
FROM python:3.12-slim

# The user by number (10001) in USER below, so that Kubernetes' runAsNonRoot can tell it is not
# root without reading /etc/passwd; the state folder is theirs.
RUN groupadd --system --gid 10001 autoscaler-pauser \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/autoscaler-pauser \
        --shell /usr/sbin/nologin autoscaler-pauser \
    && install -d -m 0700 -o 10001 -g 10001 /var/lib/autoscaler-pauser

WORKDIR /src
COPY pyproject.toml README.md ./
COPY autoscaler_pauser ./autoscaler_pauser
RUN pip install --no-cache-dir . && rm -rf /src

WORKDIR /var/lib/autoscaler-pauser
ENV PYTHONUNBUFFERED=1
USER 10001:10001
# Unhealthy when the last run is older than three intervals (at least 3 minutes), failed, or never
# happened. Docker shows it (docker ps) and Swarm replaces such a container; ECS and Kubernetes
# ignore an image's HEALTHCHECK and take their own: docs/operations.md gives both.
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["autoscaler-pauser", "status", "--check"]
ENTRYPOINT ["autoscaler-pauser"]
CMD ["--loop"]
