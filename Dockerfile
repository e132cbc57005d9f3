# One image for the bailwatch processes (ingester, API, simulator); the command picks the process.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY config ./config
COPY store ./store
COPY broker ./broker
COPY ingest ./ingest
COPY geofence ./geofence
COPY alerts ./alerts
COPY api ./api
COPY sim ./sim
COPY data ./data
RUN useradd --system --uid 10001 bailwatch
USER bailwatch
CMD ["python", "-m", "api"]
