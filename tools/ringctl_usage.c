/*
 * tools/ringctl_usage.c - ringctl's help texts, one per subcommand (ctl_usage).
 * Keep them in step with the options ringctl_args.c accepts: tests/integration/
 * t_ringctl.sh checks that usage errors exit 2 and --help exits 0.
 */
#include "tools/ringctl.h"

static const char usage_main[] =
    "usage: ringctl COMMAND [OPTIONS]\n"
    "\n"
    "Commands (each takes --help):\n"
    "  topics    list, describe, create and delete topics (flags of kafka-topics.sh)\n"
    "  produce   send lines from stdin to a topic\n"
    "  consume   print a topic's records, one per line\n"
    "  groups    list, describe, reset the offsets of and delete consumer groups\n"
    "            (flags of kafka-consumer-groups.sh)\n"
    "  configs   describe and alter topic and broker configs (flags of kafka-configs.sh)\n"
    "  cluster   brokers, controller and partition leadership of a cluster\n"
    "  zk        dump the cluster's znodes under the chroot (debugging)\n"
    "  leaders   preferred leader election (--preferred; --zookeeper or --etcd)\n"
    "  reassign  move partitions to other brokers (--zookeeper or --etcd)\n"
    "  dump-log  print the batches of segment files (offline)\n"
    "\n"
    "Works against ringbroker or any Kafka broker (librdkafka); topics, cluster and zk\n"
    "also read (and topics writes) a ZooKeeper-mode cluster's ZooKeeper directly with\n"
    "--zookeeper HOST:PORT[,HOST:PORT...][/CHROOT], as Kafka 2.8's tools did (for a\n"
    "cluster on etcd: --etcd URL[,URL...] [--etcd-prefix P]).\n"
    "Exit status: 0 success, 1 the operation failed, 2 bad usage.\n";

#define COMMON_OPTS                                                                                \
    "  --bootstrap-server HOST:PORT[,...]  broker(s) to contact (required)\n"                      \
    "  --connect-timeout-ms N      give up when no broker answers within N ms (10000)\n"           \
    "  -X KEY=VALUE                set a librdkafka client property (repeatable)\n"                \
    "  --verbose                   show librdkafka's log lines\n"                                  \
    "  --help                      this text\n"

static const char usage_topics[] =
    "usage: ringctl topics --bootstrap-server HOST:PORT ACTION [OPTIONS]\n"
    "       ringctl topics --zookeeper HOST:PORT[,HOST:PORT...][/CHROOT] ACTION [OPTIONS]\n"
    "\n"
    "Actions (exactly one):\n"
    "  --list                      print every topic name, sorted\n"
    "  --describe [--topic T]      partitions, leaders, replicas, ISR and non-default configs\n"
    "                              of T (default: every topic)\n"
    "  --create --topic T          create T\n"
    "      [--partitions N]        partition count (default: the broker's num.partitions)\n"
    "      [--replication-factor R] (default: the broker's default.replication.factor)\n"
    "      [--config KEY=VALUE]    topic config, repeatable (e.g. retention.ms=60000)\n"
    "      [--if-not-exists]       succeed when T already exists\n"
    "  --delete --topic T [--if-exists]   delete T\n"
    "  --alter --topic T --partitions N [--if-exists]\n"
    "                              grow T to N partitions (N above the current count)\n"
    "\n"
    "With --zookeeper (instead of --bootstrap-server) the topics are read and written in\n"
    "ZooKeeper directly, in Kafka 2.8's layout and order (TopicCommand --zookeeper):\n"
    "--create writes /config/topics/T, then /brokers/topics/T with Kafka's replica\n"
    "assignment over the brokers registered in /brokers/ids, and the controller brings\n"
    "the partitions online; --delete writes /admin/delete_topics/T; --alter rewrites\n"
    "/brokers/topics/T (conditionally). The output is kafka-topics.sh's: --list marks\n"
    "topics being deleted, --describe shows TopicId and \"Leader: none\" until a\n"
    "partition has a leader. A chroot that does not exist is an error (not created).\n"
    "  --create needs --partitions and --replication-factor, or instead\n"
    "      [--replica-assignment B:B,B:B,...]  one replica list per partition, from\n"
    "                              partition 0 (also with --alter: every partition of\n"
    "                              the new count; the existing ones are kept)\n"
    "  --disable-rack-aware        assign replicas without racks (else, as Kafka does, a\n"
    "                              cluster where only some brokers set broker.rack is\n"
    "                              refused and one where all do is assigned across racks)\n"
    "  --topic T                   with --list, --describe and --delete a regular\n"
    "                              expression matching whole names, ',' for '|' (as\n"
    "                              Kafka 2.8's: --topic 'orders.*,audit' ); --create and\n"
    "                              --alter take one name\n"
    "  --exclude-internal          --list/--describe: leave out __consumer_offsets and\n"
    "                              __transaction_state\n"
    "  --if-exists also goes with --describe --topic T\n"
    "\n"
    "Options:\n"
    "  --timeout-ms N              request timeout (30000)\n"
    "  --zookeeper HOST:PORT[,...][/CHROOT]   the cluster's ZooKeeper (see above)\n"
    "  --etcd URL[,URL...]         instead of --zookeeper: a cluster on etcd (the brokers'\n"
    "                              etcd.endpoints), the same tree under\n"
    "  --etcd-prefix P             the brokers' etcd.prefix (/ringbroker)\n" COMMON_OPTS;

static const char usage_produce[] =
    "usage: ringctl produce --bootstrap-server HOST:PORT --topic T [OPTIONS] < lines\n"
    "\n"
    "Each line of stdin becomes one record (the newline is not sent), read as\n"
    "kafka-console-producer reads it: [HEADERS<TAB>][KEY<TAB>]VALUE with\n"
    "parse.headers / parse.key. Exits 1 when any record was not acknowledged.\n"
    "\n"
    "Options:\n"
    "  --topic T                   topic to write to (required)\n"
    "  --partition N               write every record to partition N (default: the\n"
    "                              partitioner: by key hash, keyless records spread)\n"
    "  --acks all|-1|1|0           acknowledgement required from the broker (all)\n"
    "  --key-separator SEP         same as --property parse.key=true\n"
    "                              --property key.separator=SEP\n"
    "  --compression none|gzip|snappy|lz4|zstd   batch compression (none);\n"
    "                              --compression-codec is the same\n"
    "  --timeout-ms N              delivery timeout per record (30000)\n"
    "  --property KEY=VALUE        line format (repeatable; --reader-property is the\n"
    "                              same):\n"
    "      parse.key=true|false        split KEY off each line (false)\n"
    "      key.separator=SEP           between key and value (TAB)\n"
    "      parse.headers=true|false    each line starts with headers (false)\n"
    "      headers.delimiter=SEP       between the headers and the rest (TAB)\n"
    "      headers.separator=SEP       between two headers (,)\n"
    "      headers.key.separator=SEP   between a header's key and value (:)\n"
    "      null.marker=TEXT            a key, value or header value equal to TEXT is\n"
    "                                  sent as null (default: none)\n"
    "      ignore.error=true|false     a line without a separator is sent as far as it\n"
    "                                  parses instead of failing (false)\n"
    "  A line without a separator it needs is an error (exit 1, nothing more sent).\n"
    "  Example: printf 'h1:v1,h2:v2\\tk1\\tvalue\\n' | ringctl produce ... \\\n"
    "             --property parse.headers=true --property parse.key=true\n"
    "  --producer-property KEY=VALUE   same as -X KEY=VALUE\n" COMMON_OPTS;

static const char usage_consume[] =
    "usage: ringctl consume --bootstrap-server HOST:PORT --topic T [OPTIONS]\n"
    "\n"
    "Prints records one per line as kafka-console-consumer does: by default the value\n"
    "only (a null value prints as \"null\"); with the print.* properties the columns\n"
    "TIMESTAMP PARTITION OFFSET HEADERS KEY VALUE, in that order, separated by\n"
    "key.separator, e.g. CreateTime:1700000000000<TAB>Partition:0<TAB>Offset:5<TAB>\n"
    "h1:v1,h2:v2<TAB>key<TAB>value (NO_HEADERS when a record has none). Without --group\n"
    "the partitions are read directly (no consumer group, no committed offsets).\n"
    "\n"
    "Options:\n"
    "  --topic T                   topic to read (required)\n"
    "  --from-beginning            start at the oldest record (default: only new records)\n"
    "  --partition N               read only partition N (not with --group)\n"
    "  --offset earliest|latest|N  where --partition N starts (default: latest, or\n"
    "                              earliest with --from-beginning)\n"
    "  --max-messages N            exit after N records; exit 1 if the --timeout-ms idle\n"
    "                              limit ends the run first\n"
    "  --timeout-ms N              exit when no record arrives for N ms (default: wait)\n"
    "  --group G                   consume as member of group G (commits offsets)\n"
    "  --formatter default|json    json: one object a line, {\"partition\":0,\"offset\":5,\n"
    "                              \"timestamp\":1700000000000,\"timestamp_type\":\n"
    "                              \"CreateTime\",\"headers\":[{\"key\":\"h1\",\"value\":\n"
    "                              \"v1\"}],\"key\":\"k\",\"value\":\"v\"} (null: JSON null;\n"
    "                              bytes that are not UTF-8 as \\u00XX); print.* ignored\n"
    "  --property KEY=VALUE        output format (repeatable; --formatter-property is\n"
    "                              the same):\n"
    "      print.timestamp=true|false  TYPE:MS column (false)\n"
    "      print.partition=true|false  Partition:N column (false)\n"
    "      print.offset=true|false     Offset:N column (false)\n"
    "      print.headers=true|false    k1:v1,k2:v2 column (false)\n"
    "      print.key=true|false        key column (false)\n"
    "      print.value=true|false      value column (true)\n"
    "      key.separator=SEP           between columns (TAB)\n"
    "      headers.separator=SEP       between headers (,)\n"
    "      line.separator=SEP          after each record (newline)\n"
    "      null.literal=TEXT           printed for a null key/value/header (null)\n"
    "  --print-key, --print-offset, --print-partition   same as print.key=true, ...\n"
    "  --consumer-property KEY=VALUE   same as -X KEY=VALUE\n" COMMON_OPTS;

static const char usage_groups[] =
    "usage: ringctl groups --bootstrap-server HOST:PORT ACTION [OPTIONS]\n"
    "\n"
    "Actions (exactly one):\n"
    "  --list                      print every consumer group id, sorted\n"
    "  --describe --group G        committed offset, log-end offset and lag of every\n"
    "                              partition of G, with the member consuming it:\n"
    "                              GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG\n"
    "                              CONSUMER-ID HOST CLIENT-ID\n"
    "  --reset-offsets --group G --topic T (--to-earliest | --to-latest | --to-offset N)\n"
    "      [--execute | --dry-run] set G's committed offsets of every partition of T to\n"
    "                              the log start, the log end or N (clamped to the log);\n"
    "                              prints GROUP TOPIC PARTITION NEW-OFFSET. Without\n"
    "                              --execute nothing is changed. G must have no members.\n"
    "  --delete --group G          delete G and its committed offsets (G must be empty)\n"
    "\n"
    "Options:\n"
    "  --timeout-ms N              request timeout (30000)\n" COMMON_OPTS;

static const char usage_configs[] =
    "usage: ringctl configs --bootstrap-server HOST:PORT --entity-type topics|brokers\n"
    "                       --entity-name NAME | --entity-default ACTION [OPTIONS]\n"
    "\n"
    "Actions (exactly one):\n"
    "  --describe [--all]          the dynamic configs of the entity (--all: every config,\n"
    "                              defaults included) as NAME=VALUE sensitive=.. synonyms={..}\n"
    "  --alter                     change dynamic configs:\n"
    "      --add-config K=V[,K=V...]   set configs (a value with commas goes in [ ]:\n"
    "                                  k=[a,b]); repeatable\n"
    "      --delete-config K[,K...]    return configs to their defaults; repeatable\n"
    "\n"
    "The entity of --entity-type brokers is a broker id, or --entity-default for the\n"
    "cluster-wide default every broker uses unless it has its own value; broker\n"
    "configs change one key at a time (IncrementalAlterConfigs). For topics --alter\n"
    "reads the current dynamic configs, merges the change and writes the whole set\n"
    "back (AlterConfigs), so a concurrent change by another client between the two\n"
    "steps can be lost.\n"
    "\n"
    "Options:\n"
    "  --timeout-ms N              request timeout (30000)\n" COMMON_OPTS;

static const char usage_cluster[] =
    "usage: ringctl cluster --bootstrap-server HOST:PORT [OPTIONS]\n"
    "       ringctl cluster --zookeeper HOST:PORT[,HOST:PORT...][/CHROOT] [OPTIONS]\n"
    "\n"
    "Prints the cluster id, the controller, the live brokers (BROKER HOST:PORT RACK)\n"
    "and every partition (TOPIC PARTITION LEADER REPLICAS ISR STATUS), STATUS being\n"
    "ok, NO LEADER or LEADER DOWN (its leader is not a live broker), then a summary:\n"
    "  N brokers, N topics, N partitions, N offline partitions\n"
    "From --bootstrap-server it is the brokers' Metadata (racks are not shown:\n"
    "librdkafka does not expose them); from --zookeeper it is the quorum's view\n"
    "(/brokers/ids, /controller, /brokers/topics and the partition states).\n"
    "\n"
    "Options:\n"
    "  --exclude-internal          leave out __consumer_offsets and __transaction_state\n"
    "  --timeout-ms N              request timeout (30000)\n"
    "  --zookeeper HOST:PORT[,...][/CHROOT]   read the cluster's ZooKeeper instead\n"
    "  --etcd URL[,URL...]         instead of --zookeeper: a cluster on etcd (the brokers'\n"
    "                              etcd.endpoints), the same tree under\n"
    "  --etcd-prefix P             the brokers' etcd.prefix (/ringbroker)\n" COMMON_OPTS;

static const char usage_leaders[] =
    "usage: ringctl leaders --preferred [--topic T] --zookeeper HOST:PORT[,...][/CHROOT]\n"
    "       ringctl leaders --preferred [--topic T] --etcd URL[,URL...] [--etcd-prefix P]\n"
    "\n"
    "Asks the controller to give every partition (or those of the topics --topic\n"
    "matches: a regular expression, ',' for '|', as kafka-topics.sh --zookeeper) back\n"
    "to its preferred replica, the first of its assignment, where that replica is live\n"
    "and in the ISR: writes /admin/preferred_replica_election as Kafka 2.8's\n"
    "kafka-preferred-replica-election.sh --zookeeper does, waits until the controller\n"
    "has run it and prints each partition's leader against its preferred replica.\n"
    "Exit 0 when every listed partition is led by its preferred replica, 1 otherwise\n"
    "(or when an election is already in progress).\n"
    "\n"
    "Options:\n"
    "  --timeout-ms N              wait at most N ms for the controller (30000)\n";

static const char usage_reassign[] =
    "usage: ringctl reassign --reassignment-json-file FILE [--execute | --verify]\n"
    "                        (--zookeeper HOST:PORT[,...][/CHROOT] | --etcd URL[,URL...])\n"
    "\n"
    "Moves partitions to the brokers the file names, as Kafka 2.8's\n"
    "kafka-reassign-partitions.sh --zookeeper does. FILE (- for stdin) is Kafka's\n"
    "reassignment JSON: {\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\n"
    "\"replicas\":[2,3]}]} (a replica count other than the current one changes the\n"
    "replication factor). --execute (the default) checks that every topic, partition\n"
    "and broker exists and writes /admin/reassign_partitions; the controller copies\n"
    "the data to the new replicas, waits until they are in sync, moves leadership\n"
    "into the new set and then removes the old replicas, which delete their logs.\n"
    "Refused while another reassignment runs. --verify prints each partition's\n"
    "progress: exit 0 when every one is complete, 1 otherwise.\n"
    "\n"
    "Options:\n"
    "  --etcd-prefix P             the brokers' etcd.prefix (/ringbroker)\n";

static const char usage_zk[] =
    "usage: ringctl zk --zookeeper HOST:PORT[,HOST:PORT...][/CHROOT] [PATH] [OPTIONS]\n"
    "       ringctl zk --etcd URL[,URL...] [--etcd-prefix P] [PATH] [OPTIONS]\n"
    "\n"
    "Dumps the nodes under the chroot (or under PATH, a path within it such as\n"
    "/brokers) as an indented tree, one node a line: its name, then \" = \" and its data\n"
    "when it has any (bytes outside printable ASCII as \\xNN, newlines as \\n). Without\n"
    "a chroot ZooKeeper's own /zookeeper subtree is left out. For debugging: the nodes\n"
    "are read one by one, not as one snapshot.\n"
    "\n"
    "Options:\n"
    "  --max-nodes N               stop after N nodes (1000); a last line says so\n"
    "  --max-data N                show at most N bytes of a node's data (300), then\n"
    "                              \"...(LEN bytes)\"\n"
    "  --etcd URL[,URL...]         instead of --zookeeper: a cluster on etcd (the brokers'\n"
    "                              etcd.endpoints), the same tree under\n"
    "  --etcd-prefix P             the brokers' etcd.prefix (/ringbroker)\n"
    "  --connect-timeout-ms N      give up when the quorum does not answer within N ms\n"
    "                              (10000)\n"
    "  --help                      this text\n";

const char *ctl_usage(enum ctl_cmd cmd)
{
    switch (cmd) {
    case CTL_CMD_TOPICS:
        return usage_topics;
    case CTL_CMD_PRODUCE:
        return usage_produce;
    case CTL_CMD_CONSUME:
        return usage_consume;
    case CTL_CMD_GROUPS:
        return usage_groups;
    case CTL_CMD_CONFIGS:
        return usage_configs;
    case CTL_CMD_CLUSTER:
        return usage_cluster;
    case CTL_CMD_ZK:
        return usage_zk;
    case CTL_CMD_LEADERS:
        return usage_leaders;
    case CTL_CMD_REASSIGN:
        return usage_reassign;
    case CTL_CMD_NONE:
        break;
    }
    return usage_main;
}
