#!/usr/bin/env bash
# Long benchmark runs on the lent GPU machine (see bench/README.md, "Long
# runs on the device"). A call of the device tool re-lays the repo folder,
# which breaks a job running inside it, and returns after at most 10 minutes;
# so the job runs detached from a copy of the tree in /tmp, and later calls
# wait for it and bring back what it has written.
#
#   bash bench/device_job.sh start "COMMAND" ["COMMAND" ...]   copy the tree, set up,
#        then run each COMMAND in turn (from the copy's root), detached
#   bash bench/device_job.sh wait SECONDS                 wait until the job ends or
#        SECONDS pass, then pack its results and log into $OUT/results.tgz
#   bash bench/device_job.sh status                       print the job's log tail
set -u
JOB=/tmp/hh-job
case "${1:-}" in
  start)
    shift
    rm -rf "$JOB" && mkdir -p "$JOB"
    tar --exclude=./.git --exclude=./build -cf - . | tar -xf - -C "$JOB"
    cd "$JOB" || exit 1
    # shellcheck disable=SC1091
    source bench/gpu_setup.sh || exit 1
    : > queue
    for command in "$@"; do printf '%s\n' "$command" >> queue; done
    PYTHONUNBUFFERED=1 setsid nohup bash -c '
      while IFS= read -r line; do
        echo "=== $(date +%T) $line"
        eval "$line"
        echo "=== $(date +%T) exit $?"
      done < queue
      echo done > finished' > job.log 2>&1 < /dev/null &
    echo "started in $JOB: $(wc -l < queue) command(s)"
    ;;
  wait)
    deadline=$(( $(date +%s) + ${2:-540} ))
    while [ ! -f "$JOB/finished" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 5; done
    [ -f "$JOB/finished" ] && echo "job finished" || echo "job still running"
    tail -n 25 "$JOB/job.log"
    # only what the job wrote: the whole results tree would not fit $OUT's limits
    (cd "$JOB" && find bench/results -type f -newer queue -print0 |
      tar -czf "${OUT:-/tmp}/results.tgz" job.log --null -T -)
    ;;
  status)
    tail -n 40 "$JOB/job.log"
    ;;
  *)
    echo "usage: $0 start COMMAND... | wait SECONDS | status" >&2
    exit 2
    ;;
esac
