# Shared by the peers/ benchmark scripts (sourced, not run): the data check and the build of a base commit for A/B runs.

DATA=/usr/share/datasets/fashion-mnist

# require_fashion_mnist SCRIPT: exits with a message naming SCRIPT when the Debian dataset is missing.
require_fashion_mnist() {
  [ -f "$DATA/train-images-idx3-ubyte" ] || [ -f "$DATA/train-images-idx3-ubyte.gz" ] ||
    { echo "$1: Fashion-MNIST not found in $DATA (apt-get install dataset-fashion-mnist)" >&2; exit 2; }
}

# build_base SCRIPT REF: builds Train.dll from `git archive REF` once into /tmp/arn-scaling-base-<commit> (kept for
# later runs) and sets BASEDIR to it.
build_base() {
  local commit
  commit=$(git rev-parse --verify "$2^{commit}") || { echo "$1: --base '$2' is not a commit" >&2; exit 2; }
  BASEDIR=/tmp/arn-scaling-base-$commit
  if [ ! -f "$BASEDIR/src/Training/bin/Release/net10.0/Train.dll" ]; then
    rm -rf "$BASEDIR"; mkdir -p "$BASEDIR"
    git archive "$commit" | tar -x -C "$BASEDIR"
    echo "== building the base ($2, ${commit:0:10})"
    dotnet build "$BASEDIR/src/Training" -c Release -v q -nologo 2>&1 | tail -n 2
  fi
}
