#!/usr/bin/env bash
# A client with nothing but bash and curl: it opens the SSE stream, answers
# every request with {"echo": <its payload>}, and tells what it does on
# stderr. It shows the wire protocol is small enough to speak by hand
# (docs/PROTOCOL.md); a real client also handles cancel, reconnects with
# Last-Event-ID and retries answers, as the C++ client does.
#
#   bash curl_client.sh http://127.0.0.1:8080 my-client [token]
set -euo pipefail
server=${1:?usage: curl_client.sh SERVER_URL CLIENT_ID [TOKEN]}
id=${2:?usage: curl_client.sh SERVER_URL CLIENT_ID [TOKEN]}
auth=()
[ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")

event="" data=""
curl -sN "${auth[@]}" -H 'Accept: text/event-stream' \
    "$server/sserpc/v1/clients/$id/events" |
while IFS= read -r line; do
  line=${line%$'\r'}
  case "$line" in
    "event: "*) event=${line#event: } ;;
    "data: "*) data+="${data:+$'\n'}${line#data: }" ;;
    "")  # a blank line ends an event
      if [ "$event" = request ]; then
        # This server writes call_id first and payload last, so sed can cut
        # them out; a general client would use a JSON parser.
        call_id=$(sed -n 's/^{"call_id":"\([A-Za-z0-9_-]*\)".*/\1/p' <<<"$data")
        method=$(sed -n 's/.*"method":"\([^"]*\)".*/\1/p' <<<"$data")
        payload=$(sed -n 's/.*"payload":\(.*\)}$/\1/p' <<<"$data")
        echo "curl client: $method $payload" >&2
        curl -s "${auth[@]}" -H 'Content-Type: application/json' \
          -d "{\"call_id\":\"$call_id\",\"payload\":{\"echo\":$payload}}" \
          "$server/sserpc/v1/clients/$id/replies" >/dev/null
      elif [ "$event" = session ]; then
        echo "curl client: connected: $data" >&2
      elif [ "$event" = cancel ]; then
        echo "curl client: cancelled: $data" >&2
      fi
      event="" data="" ;;
  esac
done
