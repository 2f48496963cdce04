#!/bin/sh
# Regenerates config.json in every fixture directory from a REAL `docker compose config --format json` run.
# Each case is run from inside its directory so compose's own discovery (compose.yaml / docker-compose.yml,
# the override file, .env) applies. The environment is emptied so a variable set in your shell cannot leak
# into a fixture. Absolute paths of this checkout are replaced by /srv/<case> so the JSON does not depend on
# where the repository lives (the only edit made to compose's output).
# Needs docker compose v2+ (no daemon). Usage: Tests/UpshiftCoreTests/Fixtures/compose/capture.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for dir in "$here"/*/; do
    case=$(basename "$dir")
    cd "$dir"
    env -i PATH="$PATH" HOME="${HOME:-/root}" PWD="$dir" docker compose config --format json > config.json.tmp
    sed "s#${dir%/}#/srv/$case#g" config.json.tmp > config.json
    rm config.json.tmp
    echo "captured $case"
done
docker compose version > "$here/COMPOSE_VERSION"
