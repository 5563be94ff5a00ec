#!/bin/bash
# Installs the Debian packages the tests and the demo need, only when one is missing.
set -euo pipefail
PKGS=(chromium fonts-dejavu-core fonts-liberation2 fonts-noto-core poppler-utils qpdf swaks libnet-ssleay-perl libio-socket-ssl-perl
      curl postgresql openssl dovecot-imapd mutt tmux nginx-light)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
