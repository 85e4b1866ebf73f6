# syntax=docker/dockerfile:1
# Build stage: install the package and its dependencies into a virtualenv.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN /opt/venv/bin/pip install --no-cache-dir .

# Runtime stage: only the virtualenv, run as an unprivileged user.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv/bookings --create-home bookings
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BOOKINGS_ENV=production \
    BOOKINGS_DATA_DIR=/srv/bookings
WORKDIR /srv/bookings
USER bookings
EXPOSE 8000
# DATABASE_URL, BOOKINGS_SECRET_KEY and BOOKINGS_APP_URL must be given at run time; without them
# the server exits at once and says which is missing.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["bookings", "serve", "--host", "0.0.0.0", "--port", "8000"]
