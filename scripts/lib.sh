# Shared by scripts/run and scripts/test. Installs what is missing (and
# skips what is already there), starts the local AWS emulator on loopback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FAKECLOUD_VERSION="0.51.0"
CFN_LINT_VERSION="1.58.0"
SAM_CLI_VERSION="1.170.0"
CHECKOV_VERSION="3.2.459"
SCHEMATHESIS_VERSION="4.32.5"
OPENAPI_VALIDATOR_VERSION="0.7.2"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/glimvid"
# Builds live outside the clone so a fresh clone (and CI) reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
export PATH="$HOME/.cargo/bin:$PATH"

# The emulator's root key, for provisioning only (it bypasses signature and
# IAM checks); the functions assume their own roles. Region as in production.
export AWS_REGION="${AWS_REGION:-ap-southeast-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_EC2_METADATA_DISABLED=true

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Each rebuilt test or benchmark binary leaves its predecessor behind in the
# shared cache; on a machine whose disk is shared and sometimes nearly full,
# that is what runs out first. Keeps the newest of each name, drops
# incremental state (CI builds from scratch per change anyway), and says how
# much room is left.
trim_build_cache() {
  local dir="$CARGO_TARGET_DIR/debug"
  if [[ -d "$dir" ]]; then
    python3 - "$dir/deps" <<'PY'
import collections, os, re, sys
deps = sys.argv[1]
if not os.path.isdir(deps):
    sys.exit(0)
named = collections.defaultdict(list)
for name in os.listdir(deps):
    match = re.fullmatch(r"(.+)-[0-9a-f]{16}", name)
    path = os.path.join(deps, name)
    if match and os.path.isfile(path) and os.access(path, os.X_OK):
        named[match.group(1)].append((os.stat(path).st_mtime, path))
for versions in named.values():
    for _, path in sorted(versions, reverse=True)[1:]:
        os.remove(path)
PY
    rm -rf "$dir/incremental"
  fi
  log "disk: $(df -h --output=avail "$CACHE" | tail -n 1 | tr -d ' ') free for builds"
}

ensure_fakecloud() {
  if command -v fakecloud >/dev/null 2>&1 && fakecloud --version 2>/dev/null | grep -q " $FAKECLOUD_VERSION"; then
    return
  fi
  log "installing fakecloud $FAKECLOUD_VERSION (35-40 minutes on 2 cores, once per machine)"
  # opt-level 1 builds ~35% faster than the default and serves as fast.
  CARGO_TARGET_DIR="$CACHE/fakecloud-build" CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install fakecloud --locked --version "$FAKECLOUD_VERSION"
}

# The emulator's install is the longest step on a new machine and ends in
# long single-threaded compiles; run beside the other installs and builds it
# fills the second core. `await_fakecloud` before the emulator is needed.
FAKECLOUD_INSTALL_PID=""
FAKECLOUD_INSTALL_LOG="$CACHE/fakecloud-install.log"
ensure_fakecloud_in_background() {
  if command -v fakecloud >/dev/null 2>&1 && fakecloud --version 2>/dev/null | grep -q " $FAKECLOUD_VERSION"; then
    return
  fi
  mkdir -p "$CACHE"
  log "installing fakecloud $FAKECLOUD_VERSION in the background (log: $FAKECLOUD_INSTALL_LOG)"
  ensure_fakecloud >"$FAKECLOUD_INSTALL_LOG" 2>&1 &
  FAKECLOUD_INSTALL_PID=$!
}

stop_fakecloud_install() {
  [[ -n "$FAKECLOUD_INSTALL_PID" ]] || return 0
  # cargo stops its compilers on SIGINT.
  pkill -INT -P "$FAKECLOUD_INSTALL_PID" 2>/dev/null || true
  kill "$FAKECLOUD_INSTALL_PID" 2>/dev/null || true
}

await_fakecloud() {
  [[ -n "$FAKECLOUD_INSTALL_PID" ]] || return 0
  log "waiting for the fakecloud install"
  if ! wait "$FAKECLOUD_INSTALL_PID"; then
    tail -n 40 "$FAKECLOUD_INSTALL_LOG" >&2
    log "the fakecloud install failed"
    return 1
  fi
  FAKECLOUD_INSTALL_PID=""
}

# aws-sam-translator (from SAM CLI) is AWS's own SAM transform, which the
# runner uses (scripts/sam-translate) to give each function its SAM role.
ensure_cfn_lint() {
  if command -v cfn-lint >/dev/null 2>&1 && python3 -c 'import cfnlint, samtranslator' 2>/dev/null; then
    return
  fi
  # cfn-lint does not depend on aws-sam-translator; SAM CLI does.
  log "installing cfn-lint $CFN_LINT_VERSION and aws-sam-cli $SAM_CLI_VERSION (with aws-sam-translator)"
  python3 -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION" \
    "aws-sam-cli==$SAM_CLI_VERSION"
}

CARGO_LAMBDA_VERSION="1.9.2"
# The template's architecture (Globals.Architectures).
LAMBDA_ARCH="arm64"
# cargo lambda builds here, apart from the debug target, so the two builds
# never wait on each other's lock.
LAMBDA_TARGET_DIR="$CACHE/lambda-target"
export GLIMVID_LAMBDA_DIR="$LAMBDA_TARGET_DIR/lambda"

# cargo-lambda from PyPI brings Zig (package ziglang), its cross linker,
# which pins glibc to what Lambda's provided.al2023 has; the Rust target is
# added through rustup on first use.
ensure_cargo_lambda() {
  if command -v cargo-lambda >/dev/null 2>&1 && cargo lambda --version 2>/dev/null | grep -q " $CARGO_LAMBDA_VERSION"; then
    return
  fi
  log "installing cargo-lambda $CARGO_LAMBDA_VERSION (with Zig)"
  python3 -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
}

# Every function as Lambda runs it: `lambda/<binary>/bootstrap`. The HTTP
# functions and the workers build apart, so the HTTP artifacts get the
# library without its `pipeline` feature (no codecs, no providers).
build_artifacts() {
  local package
  for package in glimvid-functions glimvid-workers; do
    log "cargo lambda build --release --$LAMBDA_ARCH -p $package"
    CARGO_TARGET_DIR="$LAMBDA_TARGET_DIR" cargo lambda build --release "--$LAMBDA_ARCH" -p "$package" --quiet
  done
}

# The installed version of a Python distribution (empty if none).
python_package_version() {
  python3 -c 'import importlib.metadata as m, sys
try:
    print(m.version(sys.argv[1]))
except m.PackageNotFoundError:
    pass' "$1"
}

# The template checks beside cfn-lint: SAM CLI (`sam validate --lint`) and
# checkov, at pinned versions (a newer checkov brings new checks). They
# share dependencies with cfn-lint, so all three install in one resolve.
ensure_template_checkers() {
  if command -v sam >/dev/null 2>&1 && command -v checkov >/dev/null 2>&1 &&
    [[ $(python_package_version aws-sam-cli) == "$SAM_CLI_VERSION" ]] &&
    [[ $(python_package_version checkov) == "$CHECKOV_VERSION" ]]; then
    return
  fi
  log "installing aws-sam-cli $SAM_CLI_VERSION and checkov $CHECKOV_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION" \
    "checkov==$CHECKOV_VERSION" "cfn-lint==$CFN_LINT_VERSION"
}

# The API's own checkers, in a virtualenv of their own so their pins never
# fight SAM CLI's or checkov's: openapi-spec-validator for the spec, and
# schemathesis, which the tests run against the local platform
# (tests/tests/fuzz.rs finds it through GLIMVID_SCHEMATHESIS).
API_TOOLS="$CACHE/api-tools"
ensure_api_checkers() {
  local py="$API_TOOLS/bin/python" versions=""
  # No `pip show | grep -q`: grep quitting early fails the pipe (pipefail).
  [[ -x $py ]] && versions=$("$py" -c 'import importlib.metadata as m
for d in ("schemathesis", "openapi-spec-validator"):
    try:
        print(m.version(d), end=" ")
    except m.PackageNotFoundError:
        print("-", end=" ")' 2>/dev/null || true)
  if [[ $versions != "$SCHEMATHESIS_VERSION $OPENAPI_VALIDATOR_VERSION " ]]; then
    log "installing schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $OPENAPI_VALIDATOR_VERSION"
    python3 -m venv "$API_TOOLS"
    "$py" -m pip install --quiet --disable-pip-version-check \
      "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION"
  fi
  export GLIMVID_SCHEMATHESIS="$API_TOOLS/bin/schemathesis"
}

# Debian packages: nasm makes openh264's SIMD build (render speed), ffprobe
# cross-checks rendered MP4s in the tests, chromium + chromedriver run the
# browser tests (a CJK font lets their screenshots show Chinese). Each spec
# is pkg:command, or pkg:/absolute/path for packages without a command.
ensure_debian_packages() {
  local missing=()
  for spec in "$@"; do
    local pkg=${spec%%:*} cmd=${spec#*:}
    if [[ $cmd == /* ]]; then
      [[ -e $cmd ]] || missing+=("$pkg")
    else
      command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return
  log "installing ${missing[*]} (apt)"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() { # port seconds
  local port=$1 deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ((SECONDS > deadline)); then
      return 1
    fi
    sleep 0.2
  done
}

# As strict as AWS: every signature is verified (a presigned PUT whose type
# or size differs from the signed one is refused) and every call is held to
# the caller's IAM policies. Keys starting with `test` bypass both; only
# provisioning uses them, every function signs with its own role.
EMULATOR_FLAGS=(--verify-sigv4 --iam strict)

EMULATOR_PID=""
# start_emulator LOGFILE [extra fakecloud args...]; sets AWS_ENDPOINT_URL.
start_emulator() {
  local logfile=$1; shift
  local port
  port=$(free_port)
  fakecloud --addr "127.0.0.1:$port" --region "$AWS_REGION" --log-level warn "$@" >"$logfile" 2>&1 &
  EMULATOR_PID=$!
  if ! wait_for_port "$port" 60; then
    cat "$logfile" >&2
    log "the emulator did not start"
    return 1
  fi
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  log "emulator (fakecloud $FAKECLOUD_VERSION) on $AWS_ENDPOINT_URL"
}

stop_emulator() {
  if [[ -n "$EMULATOR_PID" ]] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
  fi
}
