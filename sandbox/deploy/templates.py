"""The documented templates ``sandbox deploy`` renders (Jinja2 text; kept in a module so the
package ships them without package data). ``NGINX`` is a whole ``nginx.conf``: the ``stream``
block must sit at the top level, beside ``http``, so it cannot be a ``sites-enabled`` snippet.

What the nginx configuration does, and why:

- ``upstream sandbox_web``: every web address given (``--web``, one per gunicorn master, e.g.
  one per machine); ``proxy_next_upstream error timeout http_502``: a request that could not be
  sent to one, or got no answer, goes to the next one. nginx never passes a request that is not
  idempotent (POST, PATCH, LOCK) to another server once it was sent (it could have been
  applied): the browser gets the error and the candidate clicks again.
- No ``keepalive`` towards the upstream: a new loopback connection per request costs tens of
  microseconds, and a kept connection the worker closes just as nginx reuses it would fail a
  POST that nginx may not resend.
- ``X-Forwarded-For $proxy_add_x_forwarded_for``, ``X-Forwarded-Proto``, ``X-Forwarded-Host``:
  the app believes exactly one proxy (``SANDBOX_PROXY_HOPS=1``), i.e. the address nginx saw.
  A client's own X-Forwarded-For is kept in front of it and not believed.
- ``client_max_body_size``: the app's upload limit (``MAX_CONTENT_LENGTH``: the message size
  limit plus 1 MiB of form), so nginx refuses exactly what the app would refuse.
- ``stream``: SMTP and IMAP as plain TCP (STARTTLS passes through; the servers see nginx's
  address). Needs nginx's stream module: Debian's nginx-light has it only as the package
  ``libnginx-mod-stream`` (loaded through ``/etc/nginx/modules-enabled``), nginx-full and
  nginx-extras include it. Written only when ``--smtp``/``--imap`` are given.
"""
from __future__ import annotations

NGINX = """\
# nginx configuration of the sandbox, written by `sandbox deploy nginx` (docs/deployment.md).
#   {{ command }}
# Web app: {{ webs | join(", ") }} (sandbox serve web --workers N --proxy-hops 1){% if smtp %}; SMTP: {{ smtp }}{% endif %}{% if imap %}; IMAP: {{ imap }}{% endif %}.
{% if user %}
user {{ user }};
{% endif %}
worker_processes auto;
worker_rlimit_nofile {{ worker_connections * 2 }};
{% if run_dir %}
error_log {{ run_dir }}/error.log;
{% else %}
error_log /var/log/nginx/error.log;
{% endif %}
{% if modules_include %}
include {{ modules_include }};
{% endif %}

events {
    worker_connections {{ worker_connections }};
}

http {
{% if run_dir %}
    access_log {{ run_dir }}/access.log;
    client_body_temp_path {{ run_dir }}/client_body;
    proxy_temp_path {{ run_dir }}/proxy;
    fastcgi_temp_path {{ run_dir }}/fastcgi;
    uwsgi_temp_path {{ run_dir }}/uwsgi;
    scgi_temp_path {{ run_dir }}/scgi;
{% else %}
    access_log /var/log/nginx/access.log;
{% endif %}
    server_tokens off;
    tcp_nodelay on;
    keepalive_timeout 65s;
    # the app's upload limit (the message size limit + 1 MiB of form): MAX_CONTENT_LENGTH
    client_max_body_size {{ body_limit }};
    client_body_buffer_size 1m;

    upstream sandbox_web {
{% for web in webs %}
        server {{ web }} max_fails=2 fail_timeout=5s;
{% endfor %}
    }

    server {
        listen {{ listen_http }};
        server_name {{ server_name }};

        location / {
            proxy_pass http://sandbox_web;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            # idempotent requests only (nginx never resends a POST it has sent)
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries {{ tries }};
            proxy_connect_timeout 5s;
            # grading, reports and exports can take a while
            proxy_read_timeout 300s;
            proxy_send_timeout 300s;
        }
    }
}
{% if smtp or imap %}

# SMTP and IMAP as TCP streams (the stream module: libnginx-mod-stream on Debian's nginx-light)
stream {
{% if smtp %}
    server {
        listen {{ listen_smtp }};
        proxy_pass {{ smtp }};
        proxy_connect_timeout 5s;
        proxy_timeout 10m;
    }
{% endif %}
{% if imap %}
    server {
        listen {{ listen_imap }};
        proxy_pass {{ imap }};
        proxy_connect_timeout 5s;
        # IMAP IDLE keeps a connection quiet for up to 29 minutes
        proxy_timeout 31m;
    }
{% endif %}
}
{% endif %}

"""
