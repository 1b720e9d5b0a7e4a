FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# SpamAssassin's spamd scores our notifications (the content check, docs/diagnostics.md); the
# compose file runs it from this image as its own service.
RUN apt-get update \
    && apt-get install -y --no-install-recommends spamassassin spamd \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected at build time. Settings refuse to load with DEBUG off unless a key
# and a mail backend are named: these two are only for this one command, which uses neither.
RUN SECRET_KEY=collectstatic-only EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend \
    python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 app \
    && mkdir -p /app/media && chown app /app/media
USER app

EXPOSE 8000
CMD ["gunicorn", "deliverytickets.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
