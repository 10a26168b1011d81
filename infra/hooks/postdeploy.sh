#!/bin/sh
# azd postdeploy hook: subscribes the blob trigger to Blob Created events on the uploads container.
#
# Why after the deploy: the Event Grid subscription's webhook carries the Functions host's
# `blobs_extension` system key, and the host creates that key only when code with an Event Grid
# blob trigger has started; Event Grid also validates the webhook when the subscription is created.
# So: wake the app, wait for the key, then provision again with SUBSCRIBE_BLOB_EVENTS=true, which
# adds the subscription to infra/main.bicep's deployment (and keeps it there on later provisions).
set -eu

: "${AZURE_FUNCTION_APP_NAME:?run through azd: AZURE_FUNCTION_APP_NAME comes from the provision outputs}"
: "${AZURE_RESOURCE_GROUP:?run through azd: AZURE_RESOURCE_GROUP comes from the provision outputs}"
: "${FUNCTION_BASE_URL:?run through azd: FUNCTION_BASE_URL comes from the provision outputs}"

if [ "${SUBSCRIBE_BLOB_EVENTS:-false}" = "true" ]; then
  echo "postdeploy: the Event Grid subscription is already part of the deployment"
  exit 0
fi

if ! command -v az >/dev/null 2>&1; then
  echo "postdeploy: the Azure CLI (az) is needed to read the host keys; install it, then run:" >&2
  echo "  azd env set SUBSCRIBE_BLOB_EVENTS true && azd provision" >&2
  exit 1
fi

echo "postdeploy: waking ${AZURE_FUNCTION_APP_NAME} so its host creates the blobs_extension key"
attempt=0
key=""
while [ "${attempt}" -lt 30 ]; do
  # Any request starts an instance; the answer itself does not matter.
  curl --silent --output /dev/null --max-time 30 "${FUNCTION_BASE_URL}/api/jobs" || true
  key="$(az functionapp keys list --name "${AZURE_FUNCTION_APP_NAME}" --resource-group "${AZURE_RESOURCE_GROUP}" \
    --query "systemKeys.blobs_extension" --output tsv 2>/dev/null || true)"
  if [ -n "${key}" ]; then
    break
  fi
  attempt=$((attempt + 1))
  sleep 10
done

if [ -z "${key}" ]; then
  echo "postdeploy: the host has no blobs_extension key after 5 minutes. Check that the deploy succeeded" >&2
  echo "and that the app logs show the blob trigger with source EventGrid, then run:" >&2
  echo "  azd env set SUBSCRIBE_BLOB_EVENTS true && azd provision" >&2
  exit 1
fi

echo "postdeploy: key found; provisioning again with the Event Grid subscription"
azd env set SUBSCRIBE_BLOB_EVENTS true
azd provision --no-prompt
