# The console's image. Runs as the non-root numeric user 1001 and also under the arbitrary UID that
# OpenShift's restricted SCC assigns (always in group 0): whatever the process writes is owned by group 0
# and group-writable. Production dependencies only (requirements.txt, pinned by constraints.txt); no
# secret is baked in: credentials arrive at run time from a mounted Secret (openshift/).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/home/console \
    XDG_CACHE_HOME=/home/console/.cache \
    MPLCONFIGDIR=/tmp/matplotlib \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION=true \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    CONSOLE_ENV=production

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt

COPY app.py server.py ./
COPY .streamlit/config.toml ./.streamlit/config.toml
COPY pages ./pages
COPY console ./console

# A passwd entry for 1001 (tools that look the user up), HOME in group 0 and group-writable so that any
# UID in group 0 can write to it; the code itself stays read-only for the process.
RUN useradd --uid 1001 --gid 0 --home-dir /home/console --no-create-home --shell /sbin/nologin console \
    && mkdir -p /home/console/.cache /home/console/.streamlit \
    && chgrp -R 0 /home/console && chmod -R g=u /home/console \
    && chmod -R g-w,o-w /app

USER 1001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]
CMD ["python", "-m", "streamlit", "run", "server.py"]
