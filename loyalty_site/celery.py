import os

from celery import Celery

# Safe by default: a worker or beat started without DJANGO_SETTINGS_MODULE runs production settings.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings.production")

app = Celery("loyalty_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
