# --- The steps (the same for every configuration; the settings are above). ---

LOG=/var/log/debpull-bootstrap.log
STEP=start
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
WORK=$(mktemp -d /tmp/debpull-bootstrap.XXXXXX)

log() {
  printf '%s debpull-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

step() {
  STEP=$1
  log "step $STEP"
}

# Stops the script: the EXIT trap names the step.
fail() {
  log "$*"
  exit 1
}

finish() {
  status=$?
  trap - EXIT
  if [ "$status" -eq 0 ]; then
    log "done: $PACKAGE installed, updates every minute ($SCHEDULED)$TOOL_SCHEDULED"
  else
    log "FAILED in step $STEP (exit status $status); log: $LOG"
  fi
  rm -rf "$WORK"
  # Closing the pipe ends tee, which has written everything once it exits.
  exec >/dev/null 2>&1
  if [ -n "${TEE_PID:-}" ]; then
    wait "$TEE_PID" || true
  fi
  exit "$status"
}
trap finish EXIT

# Everything to the log file and to the console (cloud-init's output log).
umask 077
mkfifo "$WORK/log.fifo"
umask 022
touch "$LOG"
chmod 0600 "$LOG"
tee -a "$LOG" <"$WORK/log.fifo" &
TEE_PID=$!
exec >"$WORK/log.fifo" 2>&1
SCHEDULED=none
TOOL_SCHEDULED=
log "provisioning $PACKAGE from $REPOSITORY ($SUITE)"

# Runs "$@" up to RETRIES times, RETRY_DELAY, 2*RETRY_DELAY... seconds apart
# (the network may come up late at boot).
retry() {
  attempt=1
  while ! "$@"; do
    if [ "$attempt" -ge "$RETRIES" ]; then
      log "$1: failed $attempt times"
      return 1
    fi
    log "$1: failed (attempt $attempt of $RETRIES), again in $((attempt * RETRY_DELAY))s"
    sleep "$((attempt * RETRY_DELAY))"
    attempt=$((attempt + 1))
  done
}

# 1. Prerequisites: only what is missing (and package lists for apt).
step prerequisites
DEBIAN_FRONTEND=noninteractive
export DEBIAN_FRONTEND
missing=
command -v curl >/dev/null 2>&1 || missing="$missing curl"
[ -s /etc/ssl/certs/ca-certificates.crt ] || missing="$missing ca-certificates"
command -v gpgv >/dev/null 2>&1 || missing="$missing gpgv"
if [ "$SCHEDULE" = cron ] && ! command -v cron >/dev/null 2>&1; then
  missing="$missing cron"
fi
if [ -n "$missing" ] || [ "$INSTALLER" = apt ]; then
  # The installer apt needs package lists for the app's dependencies (an
  # image may come without any).
  retry apt-get -q -o DPkg::Lock::Timeout=300 update || fail "apt-get update failed"
fi
if [ -n "$missing" ]; then
  log "installing:$missing"
  # shellcheck disable=SC2086 # one word per package
  retry apt-get -q install -y --no-install-recommends -o DPkg::Lock::Timeout=300 $missing ||
    fail "apt-get install$missing failed"
fi
if [ "$TRANSPORT" = s3 ]; then
  # curl before 7.86 signs only host and x-amz-date with --aws-sigv4: S3
  # refuses the unsigned x-amz-security-token (403).
  curl_version=$(curl --version | sed -n '1s/^curl \([0-9][0-9.]*\).*/\1/p')
  if [ -z "$curl_version" ] || ! dpkg --compare-versions "$curl_version" ge 7.86; then
    fail "curl ${curl_version:-of unknown version} is too old for s3:// repositories: 7.86 or later signs the session token (Debian 12, Ubuntu 24.04)"
  fi
fi

# 2. The instance role's credentials (IMDSv2), for s3:// repositories.
AWS_ACCESS_KEY_ID=
AWS_SECRET_ACCESS_KEY=
AWS_SESSION_TOKEN=

# The string value of "$1" in the JSON object in $CREDENTIALS_JSON.
json_field() {
  printf '%s' "$CREDENTIALS_JSON" | tr -d '\r\n' |
    sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p'
}

instance_credentials() {
  imds=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}
  imds=${imds%/}
  token=$(curl -fsS --max-time 10 -X PUT -H 'x-aws-ec2-metadata-token-ttl-seconds: 900' \
    "$imds/latest/api/token") || return 1
  role=$(curl -fsS --max-time 10 -H "x-aws-ec2-metadata-token: $token" \
    "$imds/latest/meta-data/iam/security-credentials/") || return 1
  role=$(printf '%s\n' "$role" | sed -n 1p)
  if [ -z "$role" ]; then
    log "the instance has no role (instance profile)"
    return 1
  fi
  CREDENTIALS_JSON=$(curl -fsS --max-time 10 -H "x-aws-ec2-metadata-token: $token" \
    "$imds/latest/meta-data/iam/security-credentials/$role") || return 1
  AWS_ACCESS_KEY_ID=$(json_field AccessKeyId)
  AWS_SECRET_ACCESS_KEY=$(json_field SecretAccessKey)
  AWS_SESSION_TOKEN=$(json_field Token)
  if [ -z "$AWS_ACCESS_KEY_ID" ] || [ -z "$AWS_SECRET_ACCESS_KEY" ] || [ -z "$AWS_SESSION_TOKEN" ]; then
    log "the role $role's credentials lack AccessKeyId, SecretAccessKey or Token"
    return 1
  fi
  log "credentials of the instance role $role"
}

if [ "$TRANSPORT" = s3 ]; then
  step instance-role
  retry instance_credentials || fail "no credentials from the instance metadata service"
fi

# Downloads the repository's "$1" (a key under the repository's root) to "$2".
# Credentials go to curl on its standard input, not its command line. A failed
# S3 download fetches the role's credentials again for the next attempt (they
# may have expired or been rotated).
fetch() {
  key=$(printf '%s' "$1" | sed 's/%/%25/g; s/+/%2B/g; s/:/%3A/g')
  case "$TRANSPORT" in
  s3)
    if ! printf 'user = "%s:%s"\nheader = "x-amz-security-token: %s"\n' \
      "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" |
      curl -fsS --max-time 600 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
        -H "x-amz-content-sha256: $EMPTY_SHA256" -K - -o "$2" "$BASE_URL/$key"; then
      instance_credentials || true
      return 1
    fi
    ;;
  *)
    curl -fsS --max-time 600 -o "$2" "$BASE_URL/$key"
    ;;
  esac
}

# Checks that file "$1" has SHA256 "$2" and size "$3".
check_file() {
  size=$(wc -c <"$1" | tr -d ' ')
  if [ "$size" != "$3" ]; then
    log "$1: $size bytes, the index says $3"
    return 1
  fi
  if ! printf '%s  %s\n' "$2" "$1" | sha256sum -c --status; then
    log "$1: SHA256 is not the index's $2"
    return 1
  fi
}

# 3. The tool, from the repository itself, verified as apt would.
step release
retry fetch "dists/$SUITE/InRelease" "$WORK/InRelease" || fail "cannot download dists/$SUITE/InRelease"
printf '%s\n' "$TRUSTED_KEY_BASE64" | base64 -d >"$WORK/trusted.gpg"
mkdir -m 0700 "$WORK/gnupg"
if ! gpgv --homedir "$WORK/gnupg" --keyring "$WORK/trusted.gpg" --output "$WORK/Release" \
  "$WORK/InRelease"; then
  fail "dists/$SUITE/InRelease: the signature is not good by the trusted key"
fi
release_suite=$(sed -n 's/^Suite:[[:space:]]*//p' "$WORK/Release")
release_codename=$(sed -n 's/^Codename:[[:space:]]*//p' "$WORK/Release")
if [ "$release_suite" != "$SUITE" ] && [ "$release_codename" != "$SUITE" ]; then
  fail "dists/$SUITE/InRelease is signed for suite '$release_suite', not '$SUITE'"
fi

step packages-index
ARCH=$(dpkg --print-architecture)
index_dir="$COMPONENT/binary-$ARCH"
# "sha256 size path" of the SHA256 line for "$1" in the Release.
release_entry() {
  awk -v want="$1" '
    /^[^ ]/ { in_sha256 = ($0 == "SHA256:"); next }
    in_sha256 && $3 == want { print $1, $2, $3; exit }
  ' "$WORK/Release"
}
entry=$(release_entry "$index_dir/Packages")
if [ -z "$entry" ]; then
  entry=$(release_entry "$index_dir/Packages.gz")
fi
[ -n "$entry" ] || fail "dists/$SUITE/Release lists no $index_dir/Packages (architecture $ARCH)"
index_sha256=${entry%% *}
index_rest=${entry#* }
index_size=${index_rest%% *}
index_path=${index_rest#* }
if grep -qx 'Acquire-By-Hash: yes' "$WORK/Release"; then
  index_key="dists/$SUITE/$index_dir/by-hash/SHA256/$index_sha256"
else
  index_key="dists/$SUITE/$index_path"
fi
retry fetch "$index_key" "$WORK/index" || fail "cannot download $index_key"
check_file "$WORK/index" "$index_sha256" "$index_size" || fail "$index_key does not match the Release"
case "$index_path" in
*.gz) gzip -dc <"$WORK/index" >"$WORK/Packages" || fail "$index_key: not gzip" ;;
*) mv "$WORK/index" "$WORK/Packages" ;;
esac

step tool
# "version filename sha256 size phased" of every stanza of package "$1"
# (phased: its Phased-Update-Percentage, 100 without one).
stanzas() {
  awk -v want="$1" '
    BEGIN { RS = ""; FS = "\n" }
    {
      name = ""; version = ""; file = ""; sha = ""; size = ""; phased = 100
      for (i = 1; i <= NF; i++) {
        line = $i
        if (line ~ /^Package:/) { sub(/^Package:[ \t]*/, "", line); name = line }
        else if (line ~ /^Version:/) { sub(/^Version:[ \t]*/, "", line); version = line }
        else if (line ~ /^Filename:/) { sub(/^Filename:[ \t]*/, "", line); file = line }
        else if (line ~ /^SHA256:/) { sub(/^SHA256:[ \t]*/, "", line); sha = line }
        else if (line ~ /^Size:/) { sub(/^Size:[ \t]*/, "", line); size = line }
        else if (line ~ /^Phased-Update-Percentage:/) {
          sub(/^Phased-Update-Percentage:[ \t]*/, "", line); phased = line
        }
      }
      if (name == want) { print version, file, sha, size, phased }
    }
  ' "$WORK/Packages"
}
# The highest version for everyone: one still in a staged rollout
# (Phased-Update-Percentage below 100) only when there is no other.
best=
best_version=
phased_best=
phased_version=
phased_share=
while read -r version file sha size phased; do
  [ -n "$version" ] || continue
  case "$phased" in
  '' | *[!0-9]*) phased=100 ;;
  esac
  if [ "$phased" -ge 100 ]; then
    if [ -z "$best" ] || dpkg --compare-versions "$version" gt "$best_version"; then
      best="$version $file $sha $size"
      best_version=$version
    fi
  elif [ -z "$phased_best" ] || dpkg --compare-versions "$version" gt "$phased_version"; then
    phased_best="$version $file $sha $size"
    phased_version=$version
    phased_share=$phased
  fi
done <<EOF
$(stanzas "$TOOL_PACKAGE")
EOF
if [ -z "$best" ] && [ -n "$phased_best" ]; then
  log "$TOOL_PACKAGE: only $phased_version, in a staged rollout ($phased_share%): taking it"
  best=$phased_best
elif [ -n "$phased_best" ] && dpkg --compare-versions "$phased_version" gt "$best_version"; then
  log "$TOOL_PACKAGE: skipping $phased_version, in a staged rollout ($phased_share%): taking $best_version"
fi
[ -n "$best" ] || fail "$TOOL_PACKAGE is not in dists/$SUITE/$index_dir/Packages: publish it there"
set -f
# shellcheck disable=SC2086 # the four fields
set -- $best
set +f
tool_file=$2
case "$tool_file" in
*..* | /* | *[!A-Za-z0-9._+~/-]*) fail "$TOOL_PACKAGE $1: unexpected Filename '$tool_file'" ;;
esac
installed=$(dpkg-query -W -f '${Version}' "$TOOL_PACKAGE" 2>/dev/null || true)
if [ -n "$installed" ] && dpkg --compare-versions "$installed" ge "$1"; then
  log "$TOOL_PACKAGE $installed already installed"
else
  retry fetch "$tool_file" "$WORK/tool.deb" || fail "cannot download $tool_file"
  check_file "$WORK/tool.deb" "$3" "$4" || fail "$tool_file does not match the index"
  # apt-get for every installer: it waits for the dpkg lock (unattended-upgrades
  # runs at first boot) where dpkg -i fails at once; the tool's dependencies
  # are on every stock image, no package lists needed.
  retry apt-get -q install -y --no-install-recommends -o DPkg::Lock::Timeout=300 \
    "$WORK/tool.deb" || fail "apt-get install $tool_file failed"
  log "installed $TOOL_PACKAGE $1"
fi
command -v "$TOOL" >/dev/null 2>&1 || fail "$TOOL_PACKAGE did not install $TOOL"

# 4. The configuration, the first install of the app, the every-minute job.
step configure
install -d -m 0755 /etc/debpull
printf '%s\n' "$TRUSTED_KEY_BASE64" | base64 -d >"$KEY_FILE.new"
chmod 0644 "$KEY_FILE.new"
mv "$KEY_FILE.new" "$KEY_FILE"
# 0600: it may hold the Slack webhook URL, a secret (umask 077 for no window).
umask 077
printf '%s' "$CONFIG_TEXT" >"$CONFIG_FILE.new"
umask 022
chmod 0600 "$CONFIG_FILE.new"
mv "$CONFIG_FILE.new" "$CONFIG_FILE"
if [ "$UPDATE_TOOL" = yes ]; then
  # The tool's own job (the same secrets: 0600 too).
  umask 077
  printf '%s' "$TOOL_CONFIG_TEXT" >"$TOOL_CONFIG_FILE.new"
  umask 022
  chmod 0600 "$TOOL_CONFIG_FILE.new"
  mv "$TOOL_CONFIG_FILE.new" "$TOOL_CONFIG_FILE"
else
  rm -f "$TOOL_CONFIG_FILE"
fi

step install-app
attempt=1
while :; do
  status=0
  "$TOOL" --config "$CONFIG_FILE" || status=$?
  # 1 = failed (maybe the network): again; 2, 3 = the version itself failed.
  if [ "$status" -eq 0 ]; then
    break
  elif [ "$status" -ne 1 ] || [ "$attempt" -ge "$RETRIES" ]; then
    fail "$TOOL --config $CONFIG_FILE: exit status $status"
  fi
  log "$TOOL: failed (attempt $attempt of $RETRIES), again in $((attempt * RETRY_DELAY))s"
  sleep "$((attempt * RETRY_DELAY))"
  attempt=$((attempt + 1))
done
installed=$(dpkg-query -W -f '${Version}' "$PACKAGE" 2>/dev/null || true)
[ -n "$installed" ] || fail "$PACKAGE is not installed after $TOOL ran"
log "$PACKAGE $installed installed"

step schedule
if [ "$SCHEDULE" = auto ]; then
  if [ -d /run/systemd/system ]; then SCHEDULE=systemd; else SCHEDULE=cron; fi
fi
if [ "$SCHEDULE" = systemd ]; then
  printf '%s' "$SERVICE_TEXT" >/etc/systemd/system/debpull-update.service
  printf '%s' "$TIMER_TEXT" >/etc/systemd/system/debpull-update.timer
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || fail "systemctl daemon-reload failed"
    systemctl enable --now debpull-update.timer || fail "systemctl enable --now debpull-update.timer failed"
  else
    # Not running systemd (an image being built): enabled for the next boot.
    mkdir -p /etc/systemd/system/timers.target.wants
    ln -sf /etc/systemd/system/debpull-update.timer \
      /etc/systemd/system/timers.target.wants/debpull-update.timer
  fi
  SCHEDULED="systemd timer debpull-update.timer"
  if [ "$UPDATE_TOOL" = yes ]; then
    printf '%s' "$TOOL_SERVICE_TEXT" >/etc/systemd/system/debpull-update-tool.service
    printf '%s' "$TOOL_TIMER_TEXT" >/etc/systemd/system/debpull-update-tool.timer
    if [ -d /run/systemd/system ]; then
      systemctl daemon-reload || fail "systemctl daemon-reload failed"
      systemctl enable --now debpull-update-tool.timer ||
        fail "systemctl enable --now debpull-update-tool.timer failed"
    else
      ln -sf /etc/systemd/system/debpull-update-tool.timer \
        /etc/systemd/system/timers.target.wants/debpull-update-tool.timer
    fi
    TOOL_SCHEDULED=", $TOOL_PACKAGE every 10 minutes (debpull-update-tool.timer)"
  elif [ -e /etc/systemd/system/debpull-update-tool.timer ]; then
    # Turned off since an earlier run.
    if [ -d /run/systemd/system ]; then
      systemctl disable --now debpull-update-tool.timer || true
    fi
    rm -f /etc/systemd/system/timers.target.wants/debpull-update-tool.timer \
      /etc/systemd/system/debpull-update-tool.timer /etc/systemd/system/debpull-update-tool.service
  fi
else
  # The job appends to its log: rotated weekly (logrotate.d is read where
  # logrotate is installed; the file is harmless elsewhere).
  install -d -m 0755 "${LOGROTATE_FILE%/*}"
  printf '%s' "$LOGROTATE_TEXT" >"$LOGROTATE_FILE.new"
  chmod 0644 "$LOGROTATE_FILE.new"
  mv "$LOGROTATE_FILE.new" "$LOGROTATE_FILE"
  printf '%s' "$CRON_TEXT" >"$CRON_FILE.new"
  chmod 0644 "$CRON_FILE.new"
  mv "$CRON_FILE.new" "$CRON_FILE"
  SCHEDULED="cron, $CRON_FILE"
  if [ "$UPDATE_TOOL" = yes ]; then
    TOOL_SCHEDULED=", $TOOL_PACKAGE every 10 minutes (the same file)"
  fi
fi
