# storytrail: the daemon (default) or any other command of the same image, e.g.
#   docker run --rm -v storytrail:/data storytrail:latest check https://example.org/article
#   docker run -p 8080:8080 storytrail:latest serve --host 0.0.0.0 --port 8080

# --- builder: a virtualenv with the locked dependencies (hashes checked), then storytrail itself
FROM python:3.12-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/storytrail
ENV PATH=/opt/storytrail/bin:$PATH
WORKDIR /src
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY . .
RUN pip install --no-deps --no-build-isolation . \
 && python -m compileall -q /opt/storytrail/lib \
 && storytrail --help >/dev/null

# --- final: the virtualenv only, run as an unprivileged user
FROM python:3.12-slim
LABEL org.opencontainers.image.title="storytrail" \
      org.opencontainers.image.description="Follow news stories as they evolve: every version of every article and post." \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 storytrail \
 && useradd --system --uid 10001 --gid storytrail --home-dir /data --shell /usr/sbin/nologin storytrail \
 && mkdir -p /data /config \
 && chown storytrail:storytrail /data /config
COPY --from=builder /opt/storytrail /opt/storytrail
ENV PATH=/opt/storytrail/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STORYTRAIL_DATABASE_URL=sqlite:////data/storytrail.db \
    STORYTRAIL_CONFIG=/config/storytrail.toml \
    STORYTRAIL_METRICS_HOST=0.0.0.0 \
    STORYTRAIL_METRICS_PORT=8080 \
    STORYTRAIL_LOG_FORMAT=json
USER storytrail
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /healthz of the daemon (or of `serve`) on $PORT when the platform sets it, else the metrics port.
# No curl in the slim image: Python's urllib does it; any non-2xx answer or error exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('PORT') or os.environ.get('STORYTRAIL_METRICS_PORT', '8080'); urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
# The daemon is PID 1 and handles SIGTERM itself (drains in-flight work, exits 0): no init needed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["storytrail"]
CMD ["run"]
