#!/usr/bin/env bash
# Fashion-MNIST for offline builds: Debian's dataset-fashion-mnist package, where apt-get may run.
# Without it the book falls back to a torchvision download into data/downloads.
set -u
dir=/usr/share/datasets/fashion-mnist
[ -f "$dir/train-images-idx3-ubyte.gz" ] && exit 0
if command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
  if [ "$sudo" != none ]; then
    $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
      || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }
  fi
fi
[ -f "$dir/train-images-idx3-ubyte.gz" ] && exit 0
echo "note: Fashion-MNIST is not installed in $dir (run: sudo apt-get install dataset-fashion-mnist);" \
     "the book will try a torchvision download instead." >&2
