# The original `docker run -e EMR_PREFIX=… -e EMR_REGION=… -e AUTOSCALER_CLUSTER=…
# -e AUTOSCALER_REGION=… -e AUTOSCALER_SERVICE=…` keeps working: the default command is the loop.
FROM python:3.12-slim

RUN useradd --system --home-dir /var/lib/autoscaler-pauser --shell /usr/sbin/nologin \
        autoscaler-pauser \
    && install -d -m 0700 -o autoscaler-pauser -g autoscaler-pauser /var/lib/autoscaler-pauser

WORKDIR /src
COPY pyproject.toml README.md ./
COPY autoscaler_pauser ./autoscaler_pauser
RUN pip install --no-cache-dir . && rm -rf /src

WORKDIR /var/lib/autoscaler-pauser
ENV PYTHONUNBUFFERED=1
USER autoscaler-pauser
# Unhealthy when the last run is older than three intervals (at least 3 minutes), failed, or never
# happened: Docker, ECS or Kubernetes can then restart a wedged loop.
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["autoscaler-pauser", "status", "--check"]
ENTRYPOINT ["autoscaler-pauser"]
CMD ["--loop"]
