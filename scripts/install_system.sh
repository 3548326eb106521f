#!/usr/bin/env bash
# Debian packages the book uses, installed where apt-get may run (as root or with password-less sudo):
#   dataset-fashion-mnist  Fashion-MNIST offline; without it the book downloads it with torchvision
#   chromium               the headless browser of the page tests (tests/test_pages.py)
set -u
data=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
have() { case "$1" in dataset-fashion-mnist) [ -f "$data" ];; chromium) command -v chromium >/dev/null;; esac; }
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
updated=no
for package in dataset-fashion-mnist chromium; do
  have "$package" && continue
  if [ "$sudo" != none ] && command -v apt-get >/dev/null; then
    $sudo apt-get install -y -q "$package" >/dev/null 2>&1 \
      || { [ $updated = no ] && updated=yes && $sudo apt-get update -q >/dev/null 2>&1 \
           && $sudo apt-get install -y -q "$package" >/dev/null 2>&1; }
  fi
  have "$package" || echo "note: Debian's $package is not installed (run: sudo apt-get install $package)." >&2
done
have dataset-fashion-mnist || echo "note: without it the book tries a torchvision download of Fashion-MNIST." >&2
exit 0
