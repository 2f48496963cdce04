#!/bin/sh
# Stand-in for InvenTree's contrib/container/init.sh: create the data folders, then exec the command.
set -e
mkdir -p "$INVENTREE_STATIC_ROOT" "$INVENTREE_MEDIA_ROOT" "$INVENTREE_BACKUP_DIR"
if [ ! -f "$INVENTREE_CONFIG_FILE" ]; then
    echo "Copying config file from $INVENTREE_HOME/config_template.yaml to $INVENTREE_CONFIG_FILE"
    cp "$INVENTREE_HOME/config_template.yaml" "$INVENTREE_CONFIG_FILE"
fi
if [ ! -f "$INVENTREE_PLUGIN_FILE" ]; then
    printf '# InvenTree Plugins (uses PIP framework to install)\n' > "$INVENTREE_PLUGIN_FILE"
fi
echo "Loading config file : $INVENTREE_CONFIG_FILE"
cd "$INVENTREE_HOME"
exec "$@"
