# Sourced by ./alexnet and ./test: sets JAVA_HOME to a JDK that can build and run alexnet-ffm (25 or newer:
# the code uses the FFM API at release 25), or stops with a message saying how to provide one.
# Order: $JAVA_HOME if it is new enough, then the newest JDK under /usr/lib/jvm (or $JDK_SEARCH_DIRS).
ALEXNET_MIN_JDK=25

_jdk_feature() { # prints the feature version of the JDK at $1, or nothing
  local v=""
  [ -x "$1/bin/javac" ] || return 0
  if [ -f "$1/release" ]; then v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release"); fi
  [ -n "$v" ] || v=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  echo "$v"
}

_find_jdk() {
  local v best="" bestv=0 d
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(_jdk_feature "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$ALEXNET_MIN_JDK" ]; then echo "$JAVA_HOME"; return 0; fi
  fi
  for d in ${JDK_SEARCH_DIRS:-/usr/lib/jvm}/*; do
    v=$(_jdk_feature "$d")
    if [ -n "$v" ] && [ "$v" -ge "$ALEXNET_MIN_JDK" ] && [ "$v" -gt "$bestv" ]; then best=$d; bestv=$v; fi
  done
  [ -n "$best" ] && echo "$best"
  return 0
}

_jdk=$(_find_jdk)
if [ -z "$_jdk" ]; then
  echo "alexnet-ffm needs a JDK $ALEXNET_MIN_JDK or newer, and found none" \
       "(JAVA_HOME=${JAVA_HOME:-unset}; searched ${JDK_SEARCH_DIRS:-/usr/lib/jvm})." >&2
  echo "Install one (e.g. Temurin 25: apt-get install temurin-25-jdk, or sdk install java 25-tem) and set JAVA_HOME to it." >&2
  exit 3
fi
export JAVA_HOME=$_jdk
export PATH="$JAVA_HOME/bin:$PATH"
# Maven's own libraries call sun.misc.Unsafe, which JDK 24+ warns about on every run.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
unset _jdk
