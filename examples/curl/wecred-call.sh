#!/usr/bin/env bash
# Call wecred with curl and openssl (wecred's README, "Use it from your SDK"):
#
#   WECRED_URL=https://cred.example.com WECRED_REALM=biz WECRED_REALM_SECRET=... \
#     ./wecred-call.sh access_token '{"appid":"wx0123456789abcdef"}'
#
# prints wecred's answer (the envelope); exits 1 unless its returnCode is 0. PARA-JSON is sent
# as it is. The signature covers the exact body bytes: sign the very string you send.
# (openssl takes the HMAC key as an argument: on a shared machine it shows in the process list.)
set -euo pipefail

interface=${1:?usage: wecred-call.sh INTERFACE [PARA-JSON]}
para=${2:-'{}'}
body=$(printf '{"version":1,"componentName":"MA","interface":{"interfaceName":"%s","para":%s}}' "$interface" "$para")
timestamp=$(date +%s)
nonce=$(openssl rand -hex 12)
body_hash=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
signature=$(printf 'POST\n/\n%s\n%s\n%s' "$timestamp" "$nonce" "$body_hash" |
  openssl dgst -sha256 -hmac "$WECRED_REALM_SECRET" -r | cut -d' ' -f1)

url=${WECRED_URL:-http://127.0.0.1:3030}
answer=$(curl -sS -X POST "${url%/}/" \
  -H 'content-type: application/json' \
  -H "X-Wecred-Realm: $WECRED_REALM" \
  -H "X-Wecred-Timestamp: $timestamp" \
  -H "X-Wecred-Nonce: $nonce" \
  -H "X-Wecred-Signature: $signature" \
  --data-binary "$body")
printf '%s\n' "$answer"
case $answer in *'"returnCode":0,'*) ;; *) exit 1 ;; esac
