#!/bin/sh
# Container entry point:
#   serve    run gunicorn (the default)
#   migrate  apply database migrations, then exit (the one-shot step before serve)
#   any other command runs as given, for example: python manage.py check_keys
set -eu
cd "$(dirname "$0")/.."

case "${1:-serve}" in
    serve)
        exec gunicorn -c docker/gunicorn_conf.py consentvault.wsgi
        ;;
    migrate)
        exec python manage.py migrate --no-input
        ;;
    *)
        exec "$@"
        ;;
esac
