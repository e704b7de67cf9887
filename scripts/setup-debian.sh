#!/usr/bin/env bash
# Installs the Debian packages redis-tap's build and tests need on a fresh machine:
# libpcap-dev + a C++ toolchain for the optional live-capture module, redis-server and
# redis-tools for the tests' real servers, tcpdump/tshark/dumpcap for live tests and cross-checks,
# nutcracker to remake the Twemproxy capture, tmux for the terminal-view test.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(libpcap-dev g++ make python3 redis-server redis-tools tcpdump tshark nutcracker tmux)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
