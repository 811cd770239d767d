#!/usr/bin/env bash
# A real Slurm 22.05 test facility on this host: two clusters, fake GPUs, slurmdbd accounting.
#
#   deploy/slurm/dev-cluster.sh start    # bring up what is not running; wait until nodes are idle
#   deploy/slurm/dev-cluster.sh stop     # cancel jobs, stop every daemon this script started
#   deploy/slurm/dev-cluster.sh status   # exit 0 when every daemon answers, 3 otherwise
#   deploy/slurm/dev-cluster.sh env      # print the exports tests and pnyx need (eval "$(...)")
#   deploy/slurm/dev-cluster.sh destroy  # stop, then delete the state directory
#
# Clusters (each its own slurmctld, slurm.conf, state and logs; one slurmdbd records both):
#   alpha: node[1-4], 8 fake h100 each, partitions cl1 (default, all nodes), cl2 (node[3-4]),
#          cl3 (node4) -- one partition per containment level
#   beta:  bnode[1-2], 8 fake h200 each, partitions cl1 (default), cl2 (bnode2)
# Fake GPUs are /dev/null symlinks (Slurm 22.05 drops GPUs without File=); nodes claim more
# CPUs/memory than the host has (SlurmdParameters=config_overrides).
#
# Environment: PNYX_SLURM_DIR (default /tmp/pnyx-slurm: configs, state, logs, pid files, MariaDB
# data), PNYX_SLURM_ACCOUNTING (1 default: MariaDB + slurmdbd so sacct/sacctmgr work; 0: none),
# PNYX_SLURM_SECOND (1 default: also bring up cluster beta), PNYX_SLURM_PORT (default 16800:
# base of every TCP port used). Nothing is installed here: deploy/system-deps.sh installs
# slurm-wlm, slurmdbd, munge and mariadb-server. Runs as root (slurmd must). Only processes
# whose pid files live in PNYX_SLURM_DIR are ever stopped (munged only if this script started it).
# `start` is idempotent and also repairs: after a daemon was killed, it starts just that one,
# keeping the controller's saved state (jobs survive). Concurrent calls are serialised (flock).
set -euo pipefail

ACTION=${1:-}
DIR=${PNYX_SLURM_DIR:-/tmp/pnyx-slurm}
ACCOUNTING=${PNYX_SLURM_ACCOUNTING:-1}
SECOND=${PNYX_SLURM_SECOND:-1}
PORT=${PNYX_SLURM_PORT:-16800}
HOST=$(hostname -s)
T0=$(date +%s%N)

DB_PORT=$((PORT + 6))      # MariaDB, 127.0.0.1 only
DBD_PORT=$((PORT + 19))    # slurmdbd
# per cluster: name, nodes prefix, node count, gpu type, slurmctld port, first slurmd port,
# FirstJobId (distinct so an id never means two jobs in the tests), partitions
CLUSTERS=(alpha)
[[ "$SECOND" == 1 ]] && CLUSTERS+=(beta)

cluster_field() { # cluster_field <cluster> <field>
    case "$1:$2" in
        alpha:prefix) echo node ;; alpha:count) echo 4 ;; alpha:gpu) echo h100 ;;
        alpha:ctld) echo $((PORT + 17)) ;; alpha:slurmd) echo $((PORT + 101)) ;;
        alpha:firstid) echo 1000 ;;
        alpha:parts) echo "cl1:node[1-4]:YES cl2:node[3-4]:NO cl3:node4:NO" ;;
        beta:prefix) echo bnode ;; beta:count) echo 2 ;; beta:gpu) echo h200 ;;
        beta:ctld) echo $((PORT + 27)) ;; beta:slurmd) echo $((PORT + 201)) ;;
        beta:firstid) echo 500000 ;;
        beta:parts) echo "cl1:bnode[1-2]:YES cl2:bnode2:NO" ;;
        *) die "unknown cluster field $1:$2" ;;
    esac
}

log() {
    local ds=$((($(date +%s%N) - T0) / 100000000))
    printf 'dev-cluster [%3d.%ds] %s\n' $((ds / 10)) $((ds % 10)) "$*" >&2
}
die() {
    echo "dev-cluster: error: $*" >&2
    exit 1
}
# Daemons are started with `9>&-`: fd 9 holds the flock, which a daemon must not inherit.
# wait_until <seconds> <command...>: poll every 0.1 s
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}
alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
conf_of() { echo "$DIR/$1/etc/slurm.conf"; }
with_conf() { # with_conf <cluster> <command...>
    local c=$1
    shift
    SLURM_CONF=$(conf_of "$c") "$@"
}

# ------------------------------------------------------------------ configuration files
write_slurm_conf() {
    local c=$1 cdir="$DIR/$1" prefix count gpu ctld sport last
    prefix=$(cluster_field "$c" prefix)
    count=$(cluster_field "$c" count)
    gpu=$(cluster_field "$c" gpu)
    ctld=$(cluster_field "$c" ctld)
    sport=$(cluster_field "$c" slurmd)
    last=$((sport + count - 1))
    mkdir -p "$cdir"/{etc,state,spool,log,run,jobs,fakedev}
    chmod 1777 "$cdir/jobs"
    for i in 0 1 2 3 4 5 6 7; do ln -sfn /dev/null "$cdir/fakedev/nvidia$i"; done
    local acct
    if [[ "$ACCOUNTING" == 1 ]]; then
        acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStorageTRES=gres/gpu,gres/gpu:h100,gres/gpu:h200
AccountingStoreFlags=job_comment
PriorityType=priority/multifactor
PriorityWeightFairshare=100000
PriorityWeightAge=1000
PriorityCalcPeriod=1"
    else
        acct="AccountingStorageType=accounting_storage/none"
    fi
    cat >"$cdir/etc/slurm.conf.new" <<EOF
# written by deploy/slurm/dev-cluster.sh -- a throwaway test cluster, never for real use
ClusterName=$c
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$ctld
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$cdir/state
SlurmdSpoolDir=$cdir/spool/%n
SlurmctldPidFile=$cdir/run/slurmctld.pid
SlurmdPidFile=$cdir/run/slurmd-%n.pid
SlurmctldLogFile=$cdir/log/slurmctld.log
SlurmdLogFile=$cdir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=4000
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=0
GresTypes=gpu
SlurmdParameters=config_overrides
ReturnToService=2
$acct
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
JobCompType=jobcomp/none
FirstJobId=$(cluster_field "$c" firstid)
MaxJobCount=20000
MinJobAge=120
KillWait=5
InactiveLimit=0
Waittime=0
SlurmdTimeout=10
SlurmctldTimeout=10
MessageTimeout=5
JobRequeue=1
NodeName=${prefix}[1-$count] NodeHostname=$HOST NodeAddr=127.0.0.1 Port=[$sport-$last] CPUs=64 Boards=1 SocketsPerBoard=2 CoresPerSocket=32 ThreadsPerCore=1 RealMemory=1024000 Gres=gpu:$gpu:8 State=UNKNOWN
EOF
    local p name nodes def
    for p in $(cluster_field "$c" parts); do
        IFS=: read -r name nodes def <<<"$p"
        echo "PartitionName=$name Nodes=$nodes Default=$def MaxTime=INFINITE State=UP" >>"$cdir/etc/slurm.conf.new"
    done
    cat >"$cdir/etc/gres.conf.new" <<EOF
AutoDetect=off
NodeName=${prefix}[1-$count] Name=gpu Type=$gpu File=$cdir/fakedev/nvidia[0-7]
EOF
    if [[ "$ACCOUNTING" == 1 ]]; then
        cat >"$cdir/etc/slurmdbd.conf.new" <<EOF
AuthType=auth/munge
DbdHost=$HOST
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
DebugLevel=info
LogFile=$DIR/dbd/slurmdbd.log
PidFile=$DIR/dbd/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=pnyx-test-only
StorageLoc=slurm_acct_db
EOF
    fi
    local f
    for f in slurm.conf gres.conf slurmdbd.conf; do
        [[ -f "$cdir/etc/$f.new" ]] || continue
        if cmp -s "$cdir/etc/$f.new" "$cdir/etc/$f"; then
            rm "$cdir/etc/$f.new"
        else
            [[ -f "$cdir/etc/$f" ]] && alive "$cdir/run/slurmctld.pid" \
                && log "warning: $c/etc/$f changed while $c runs: '$0 stop' then 'start' applies it"
            mv "$cdir/etc/$f.new" "$cdir/etc/$f"
        fi
    done
    chmod 644 "$cdir/etc/slurm.conf" "$cdir/etc/gres.conf"
    [[ -f "$cdir/etc/slurmdbd.conf" ]] && chmod 600 "$cdir/etc/slurmdbd.conf"
    return 0
}

# ------------------------------------------------------------------ daemons
start_munge() {
    command -v munged >/dev/null || die "munge is not installed (run deploy/system-deps.sh)"
    if [[ ! -s /etc/munge/munge.key ]]; then
        mungekey -c -f -k /etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 600 /etc/munge/munge.key
    fi
    (munge -n | unmunge) >/dev/null 2>&1 && return 0
    install -d -o munge -g munge -m 755 /run/munge
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid 9>&-
    cp /run/munge/munged.pid "$DIR/munged.pid"
    wait_until 10 sh -c 'munge -n | unmunge' || die "munged did not answer"
}

mysql_ok() { mariadb-admin --socket="$DIR/mysql/mysql.sock" ping; }

start_mariadb() {
    local data="$DIR/mysql/data"
    mkdir -p "$DIR/mysql"
    chown mysql:mysql "$DIR/mysql"
    alive "$DIR/mysql/mariadb.pid" && mysql_ok >/dev/null 2>&1 && return 0
    if [[ ! -d "$data/mysql" ]]; then
        log "mariadb-install-db in $data"
        mariadb-install-db --no-defaults --user=mysql --datadir="$data" --auth-root-authentication-method=socket \
            --skip-test-db >"$DIR/mysql/install.log" 2>&1 || {
            tail -20 "$DIR/mysql/install.log" >&2
            die "mariadb-install-db failed"
        }
    fi
    log "starting mariadb on 127.0.0.1:$DB_PORT"
    /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$data" --socket="$DIR/mysql/mysql.sock" \
        --port="$DB_PORT" --bind-address=127.0.0.1 --pid-file="$DIR/mysql/mariadb.pid" --skip-log-bin \
        --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
        --innodb-lock-wait-timeout=900 --log-error="$DIR/mysql/mariadb.log" >/dev/null 2>&1 9>&- &
    wait_until 60 mysql_ok || die "mariadb did not answer (see $DIR/mysql/mariadb.log)"
    mariadb --socket="$DIR/mysql/mysql.sock" -e "
        CREATE DATABASE IF NOT EXISTS slurm_acct_db;
        CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'pnyx-test-only';
        CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'pnyx-test-only';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
}

dbd_ok() { with_conf alpha sacctmgr -n show cluster format=cluster; }

start_slurmdbd() {
    mkdir -p "$DIR/dbd"
    if ! alive "$DIR/dbd/slurmdbd.pid"; then
        log "starting slurmdbd on port $DBD_PORT"
        with_conf alpha slurmdbd 9>&-
    fi
    wait_until 60 dbd_ok || die "slurmdbd did not answer (see $DIR/dbd/slurmdbd.log)"
    local c
    for c in "${CLUSTERS[@]}"; do
        with_conf alpha sacctmgr -n -P show cluster format=cluster | grep -qx "$c" \
            || with_conf alpha sacctmgr -i add cluster "$c" >/dev/null
    done
}

start_cluster() {
    local c=$1 cdir="$DIR/$1" prefix count n node
    prefix=$(cluster_field "$c" prefix)
    count=$(cluster_field "$c" count)
    if ! alive "$cdir/run/slurmctld.pid"; then
        log "starting slurmctld of $c on port $(cluster_field "$c" ctld)"
        # -i: start even if some saved state cannot be recovered; saved jobs are kept
        with_conf "$c" slurmctld -i 9>&-
    fi
    wait_until 30 with_conf "$c" scontrol ping \
        || die "slurmctld of $c did not answer (see $cdir/log/slurmctld.log)"
    for n in $(seq 1 "$count"); do
        node="$prefix$n"
        alive "$cdir/run/slurmd-$node.pid" && continue
        mkdir -p "$cdir/spool/$node"
        log "starting slurmd $node"
        with_conf "$c" slurmd -N "$node" 9>&-
    done
}

nodes_ready() { # every node of cluster $1 idle/allocated/mixed (none down, unknown or not responding)
    local c=$1 count
    count=$(cluster_field "$c" count)
    [[ "$(with_conf "$c" sinfo -h -N -o '%N %t' | awk '$2 ~ /^(idle|alloc|mix)$/ {print $1}' | sort -u | wc -l)" \
        -ge "$count" ]]
}

cmd_start() {
    command -v slurmctld >/dev/null || die "slurm-wlm is not installed (run deploy/system-deps.sh)"
    if [[ "$ACCOUNTING" == 1 ]]; then
        command -v slurmdbd >/dev/null || die "slurmdbd is not installed (run deploy/system-deps.sh)"
        command -v mariadbd >/dev/null || die "mariadb-server is not installed (run deploy/system-deps.sh)"
    fi
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    local c
    for c in "${CLUSTERS[@]}"; do write_slurm_conf "$c"; done
    start_munge
    if [[ "$ACCOUNTING" == 1 ]]; then
        start_mariadb
        start_slurmdbd
    fi
    for c in "${CLUSTERS[@]}"; do start_cluster "$c"; done
    for c in "${CLUSTERS[@]}"; do
        if ! wait_until 60 nodes_ready "$c"; then
            # diagnostics only, on the way to die(): a failing sinfo must not hide the message
            with_conf "$c" sinfo -N -R >&2 || true
            die "nodes of $c did not become ready (see $DIR/$c/log)"
        fi
    done
    log "ready: ${CLUSTERS[*]} (accounting=$ACCOUNTING) -- eval \"\$($0 env)\""
}

# stop_pids <pidfile...>: SIGTERM all at once, wait up to 10 s, SIGKILL what is left
stop_pids() {
    local f pid pids=()
    for f in "$@"; do
        [[ -f "$f" ]] || continue
        # the daemon may exit (and remove its pid file) between these steps: gone is the goal
        pid=$(cat "$f" 2>/dev/null || true)
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
        rm -f "$f"
    done
    local i
    for i in $(seq 1 100); do
        local left=()
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
        ((${#left[@]} == 0)) && return 0
        sleep 0.1
    done
    # a process that ended after the last check is already what we want
    for pid in "${left[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}

cmd_stop() {
    [[ -d "$DIR" ]] || {
        log "nothing at $DIR"
        return 0
    }
    local c ids=()
    for c in alpha beta; do
        [[ -f "$(conf_of "$c")" ]] || continue
        alive "$DIR/$c/run/slurmctld.pid" || continue
        mapfile -t ids < <(with_conf "$c" squeue -h -o %A 2>/dev/null | sort -u)
        # best effort before the daemons stop: jobs that ended meanwhile make scancel complain
        if ((${#ids[@]})); then with_conf "$c" scancel "${ids[@]}" 2>/dev/null || true; fi
    done
    log "stopping daemons"
    stop_pids "$DIR"/alpha/run/slurmd-*.pid "$DIR"/beta/run/slurmd-*.pid \
        "$DIR"/alpha/run/slurmctld.pid "$DIR"/beta/run/slurmctld.pid
    stop_pids "$DIR/dbd/slurmdbd.pid"
    stop_pids "$DIR/mysql/mariadb.pid" "$DIR/munged.pid"
    log "stopped"
}

cmd_status() {
    local ok=0 c f
    for c in "${CLUSTERS[@]}"; do
        for f in "$DIR/$c"/run/*.pid; do
            if alive "$f"; then echo "up    $c $(basename "$f" .pid)"; else
                echo "DOWN  $c $(basename "$f" .pid)"
                ok=3
            fi
        done
        [[ -f "$(conf_of "$c")" ]] && with_conf "$c" scontrol ping >/dev/null 2>&1 || ok=3
        [[ -f "$(conf_of "$c")" ]] && with_conf "$c" sinfo -h -N -o "      $c %N %t %G" 2>/dev/null | sort -u
    done
    if [[ "$ACCOUNTING" == 1 ]]; then
        if alive "$DIR/dbd/slurmdbd.pid"; then echo "up    slurmdbd"; else
            echo "DOWN  slurmdbd"
            ok=3
        fi
    fi
    return $ok
}

cmd_env() {
    cat <<EOF
export PNYX_SLURM_DIR=$DIR
export PNYX_SLURM_PORT=$PORT
export PNYX_SLURM_SECOND=$SECOND
export SLURM_CONF=$(conf_of alpha)
export PNYX_SLURM_CLUSTER=alpha
export PNYX_SLURM_CONF=$(conf_of alpha)
export PNYX_SLURM_LOG_DIR=$DIR/alpha/jobs
export PNYX_SLURM_ACCOUNTING=$ACCOUNTING
EOF
    if [[ "$SECOND" == 1 ]]; then
        cat <<EOF
export PNYX_SLURM_CLUSTER2=beta
export PNYX_SLURM_CONF2=$(conf_of beta)
export PNYX_SLURM_LOG_DIR2=$DIR/beta/jobs
EOF
    fi
}

case "$ACTION" in
    start | stop | destroy)
        mkdir -p "$DIR"
        exec 9>"$DIR/.lock"
        flock 9
        if [[ "$ACTION" == start ]]; then cmd_start; else cmd_stop; fi
        if [[ "$ACTION" == destroy ]]; then
            flock -u 9
            rm -rf "$DIR"
            log "removed $DIR"
        fi
        ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *)
        echo "usage: $0 start|stop|status|env|destroy" >&2
        exit 2
        ;;
esac
