# ghgwatch: one image for every role (api, pipeline, mqtt, analytics, ui, all).
#   docker build -t ghgwatch .
#   docker run --rm -p 8000:8000 ghgwatch                         # embedded mode, role all
#   docker run ... ghgwatch serve --role pipeline                 # cluster mode: see docker-compose.yml
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Wheels of ghgwatch and of every dependency (all extras: Kafka, MQTT, analytics, reports).
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[kafka,mqtt,analytics,reports,postgres-fast]"

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GHGWATCH_DATA_DIR=/var/lib/ghgwatch \
    GHGWATCH_API__HOST=0.0.0.0 \
    GHGWATCH_API__PORT=8000
RUN groupadd --system --gid 10001 ghgwatch \
    && useradd --system --uid 10001 --gid ghgwatch --home-dir /var/lib/ghgwatch --create-home \
       --shell /usr/sbin/nologin ghgwatch
# Exactly the wheels built above (ghgwatch with all its extras), no index: nothing else gets in.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl
USER 10001:10001
WORKDIR /var/lib/ghgwatch
VOLUME ["/var/lib/ghgwatch"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('GHGWATCH_API__PORT', '8000') + '/healthz', timeout=4)"]
ENTRYPOINT ["ghgwatch"]
CMD ["serve", "--role", "all"]
