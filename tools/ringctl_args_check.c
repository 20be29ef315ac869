/*
 * tools/ringctl_args_check.c - ringctl's checks of the options taken together,
 * once every option is parsed (ringctl_args.c): per subcommand, the required
 * options, the ones that exclude each other and the values that only make sense
 * with others. Pure, like the parser: one clear error line or 0.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_zk.h"
#include "core/config.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int check_topics(struct ctl_args *a, char *err, size_t errlen)
{
    bool alter = a->action == CTL_TOPICS_ALTER;
    if ((a->action == CTL_TOPICS_CREATE || a->action == CTL_TOPICS_DELETE || alter) && !a->topic)
        return ctl_arg_fail(err, errlen, "topics: %s needs --topic%s",
                            a->action == CTL_TOPICS_CREATE ? "--create"
                            : alter                        ? "--alter"
                                                           : "--delete",
                            "");
    if (alter && a->partitions < 0)
        return ctl_arg_fail(err, errlen, "topics: --alter needs --partitions N (the new count)%s%s",
                            "", "");
    if (a->action != CTL_TOPICS_CREATE &&
        ((a->partitions > 0 && !alter) || a->replication_factor > 0 || a->n_configs ||
         a->if_not_exists))
        return ctl_arg_fail(
            err, errlen,
            "topics: --partitions, --replication-factor, --config and --if-not-exists "
            "go with --create (--partitions also with --alter)%s%s",
            "", "");
    if (a->if_exists && a->action != CTL_TOPICS_DELETE && !alter &&
        a->action != CTL_TOPICS_DESCRIBE)
        return ctl_arg_fail(err, errlen,
                            "topics: --if-exists goes with --delete, --alter or --describe%s%s", "",
                            "");
    if (a->exclude_internal && a->action != CTL_TOPICS_LIST && a->action != CTL_TOPICS_DESCRIBE)
        return ctl_arg_fail(
            err, errlen, "topics: --exclude-internal goes with --list or --describe%s%s", "", "");
    if (a->replica_assignment && !a->zookeeper && !a->etcd)
        return ctl_arg_fail(err, errlen,
                            "topics: --replica-assignment goes with --zookeeper or --etcd%s%s", "",
                            "");
    if (a->disable_rack_aware && (a->replica_assignment || (!a->zookeeper && !a->etcd) ||
                                  (a->action != CTL_TOPICS_CREATE && !alter)))
        return ctl_arg_fail(
            err, errlen,
            "topics: --disable-rack-aware goes with --create or --alter (with --zookeeper "
            "or --etcd, without --replica-assignment)%s%s",
            "", "");
    if (a->replica_assignment && a->action != CTL_TOPICS_CREATE && !alter)
        return ctl_arg_fail(
            err, errlen, "topics: --replica-assignment goes with --create or --alter%s%s", "", "");
    if ((a->zookeeper || a->etcd) && a->action == CTL_TOPICS_CREATE) {
        if (a->replica_assignment && (a->partitions > 0 || a->replication_factor > 0))
            return ctl_arg_fail(err, errlen,
                                "topics: --replica-assignment does not go with --partitions or "
                                "--replication-factor%s%s",
                                "", "");
        if (!a->replica_assignment && (a->partitions < 0 || a->replication_factor < 0))
            return ctl_arg_fail(
                err, errlen,
                "topics: --create with --zookeeper or --etcd needs --partitions and "
                "--replication-factor (or --replica-assignment)%s%s",
                "", "");
    }
    if (a->replica_assignment) {
        int32_t np, rf;
        char why[256];
        if (ctl_parse_replica_assignment(a->replica_assignment, NULL, &np, &rf, why, sizeof(why)) <
            0)
            return ctl_arg_fail(err, errlen, "topics: --replica-assignment '%s': %s",
                                a->replica_assignment, why);
        if (alter && np != a->partitions)
            return ctl_arg_fail(
                err, errlen,
                "topics: --replica-assignment '%s' must list every partition of the new "
                "count (--partitions)%s",
                a->replica_assignment, "");
    }
    return 0;
}

/* Where the subcommand finds the cluster: --bootstrap-server or --zookeeper. */
static int check_target(struct ctl_args *a, char *err, size_t errlen)
{
    const char *cmd = ctl_cmd_name(a->cmd);
    bool zk_ok = a->cmd == CTL_CMD_TOPICS || a->cmd == CTL_CMD_CLUSTER || a->cmd == CTL_CMD_ZK ||
                 a->cmd == CTL_CMD_LEADERS || a->cmd == CTL_CMD_REASSIGN;
    if (a->zookeeper && !*a->zookeeper)
        return ctl_arg_fail(err, errlen, "%s: --zookeeper must not be empty%s", cmd, "");
    if (a->etcd && !*a->etcd)
        return ctl_arg_fail(err, errlen, "%s: --etcd must not be empty%s", cmd, "");
    if ((a->bootstrap != NULL) + (a->zookeeper != NULL) + (a->etcd != NULL) > 1)
        return ctl_arg_fail(err, errlen,
                            "%s: only one of --bootstrap-server, --zookeeper, --etcd%s", cmd, "");
    if (a->etcd_prefix && !a->etcd)
        return ctl_arg_fail(err, errlen, "%s: --etcd-prefix goes with --etcd%s", cmd, "");
    if (a->etcd_prefix && strcmp(a->etcd_prefix, "/") != 0 && !ctl_zk_path_ok(a->etcd_prefix))
        return ctl_arg_fail(
            err, errlen,
            "%s: --etcd-prefix '%s' must be /NAME[/NAME...] (no trailing or double '/')", cmd,
            a->etcd_prefix);
    if (a->cmd == CTL_CMD_LEADERS && !a->preferred)
        return ctl_arg_fail(err, errlen, "%s: missing --preferred (the only election there is)%s",
                            cmd, "");
    if ((a->cmd == CTL_CMD_ZK || a->cmd == CTL_CMD_LEADERS || a->cmd == CTL_CMD_REASSIGN) &&
        !a->zookeeper && !a->etcd)
        return ctl_arg_fail(err, errlen,
                            "%s: missing required option --zookeeper HOST:PORT[/CHROOT] (or --etcd "
                            "URL[,URL...])%s",
                            cmd, "");
    if (!a->zookeeper && !a->etcd && (!a->bootstrap || !*a->bootstrap))
        return ctl_arg_fail(
            err, errlen, "%s: missing required option --bootstrap-server HOST:PORT%s", cmd,
            zk_ok ? " (or --zookeeper HOST:PORT[/CHROOT], or --etcd URL[,URL...])" : "");
    if (a->zookeeper) {
        char why[256];
        if (ctl_zk_split_connect(a->zookeeper, NULL, 0, NULL, 0, why, sizeof(why)) < 0)
            return ctl_arg_fail(err, errlen, "%s: --zookeeper: %s", cmd, why);
    }
    return 0;
}

static int check_groups(struct ctl_args *a, char *err, size_t errlen)
{
    bool reset = a->action == CTL_GROUPS_RESET_OFFSETS;
    if (a->group && !*a->group)
        return ctl_arg_fail(err, errlen, "groups: --group must not be empty%s%s", "", "");
    if (a->action != CTL_TOPICS_LIST && !a->group)
        return ctl_arg_fail(err, errlen, "groups: %s needs --group%s",
                            reset                              ? "--reset-offsets"
                            : a->action == CTL_TOPICS_DESCRIBE ? "--describe"
                                                               : "--delete",
                            "");
    if (a->action == CTL_TOPICS_LIST && a->group)
        return ctl_arg_fail(err, errlen, "groups: --group does not go with --list%s%s", "", "");
    if (reset && !a->topic)
        return ctl_arg_fail(err, errlen, "groups: --reset-offsets needs --topic%s%s", "", "");
    if (reset && a->reset_to == CTL_RESET_NONE)
        return ctl_arg_fail(err, errlen,
                            "groups: --reset-offsets needs one of --to-earliest, --to-latest, "
                            "--to-offset N%s%s",
                            "", "");
    if (!reset && (a->topic || a->reset_to != CTL_RESET_NONE || a->run_mode_set))
        return ctl_arg_fail(
            err, errlen,
            "groups: --topic, --to-earliest, --to-latest, --to-offset, --execute and "
            "--dry-run go with --reset-offsets%s%s",
            "", "");
    return 0;
}

static int check_configs(struct ctl_args *a, char *err, size_t errlen)
{
    bool alter = a->action == CTL_TOPICS_ALTER;
    if (!a->entity_type)
        return ctl_arg_fail(err, errlen,
                            "configs: missing required option --entity-type topics|brokers%s%s", "",
                            "");
    if (a->entity_default && strcmp(a->entity_type, "brokers") != 0)
        return ctl_arg_fail(
            err, errlen, "configs: --entity-default goes with --entity-type brokers%s%s", "", "");
    if (a->entity_default && a->entity_name)
        return ctl_arg_fail(err, errlen, "configs: only one of --entity-name, --entity-default%s%s",
                            "", "");
    if (a->entity_default)
        a->entity_name = ""; /* the cluster-wide default broker resource */
    else if (!a->entity_name || !*a->entity_name)
        return ctl_arg_fail(err, errlen, "configs: missing required option --entity-name NAME%s%s",
                            "", "");
    else if (strcmp(a->entity_type, "brokers") == 0) {
        int64_t id;
        if (rb_parse_i64(a->entity_name, 0, INT32_MAX, &id) < 0)
            return ctl_arg_fail(err, errlen,
                                "configs: --entity-name '%s' is not a broker id (a number)%s",
                                a->entity_name, "");
    }
    if (alter && !a->n_add_configs && !a->n_delete_configs)
        return ctl_arg_fail(
            err, errlen, "configs: --alter needs --add-config and/or --delete-config%s%s", "", "");
    if (!alter && (a->n_add_configs || a->n_delete_configs))
        return ctl_arg_fail(
            err, errlen, "configs: --add-config and --delete-config go with --alter%s%s", "", "");
    if (a->all && alter)
        return ctl_arg_fail(err, errlen, "configs: --all goes with --describe%s%s", "", "");
    return 0;
}

/* Cross-option rules, once every option is read. */
int ctl_check_args(struct ctl_args *a, char *err, size_t errlen)
{
    const char *cmd = ctl_cmd_name(a->cmd);
    int rc = check_target(a, err, errlen);
    if (rc < 0)
        return rc;
    if (a->cmd == CTL_CMD_CLUSTER)
        return 0;
    if (a->cmd == CTL_CMD_ZK) {
        if (a->zk_path && !ctl_zk_path_ok(a->zk_path))
            return ctl_arg_fail(
                err, errlen, "zk: PATH '%s' must be absolute, without a trailing or double '/'%s",
                a->zk_path, "");
        return 0;
    }
    if (a->topic && !*a->topic)
        return ctl_arg_fail(err, errlen, "%s: --topic must not be empty%s", cmd, "");
    if (a->cmd == CTL_CMD_LEADERS)
        return 0; /* --preferred and the quorum checked with the target */
    if (a->cmd == CTL_CMD_REASSIGN) {
        if (!a->reassign_file || !*a->reassign_file)
            return ctl_arg_fail(err, errlen,
                                "%s: missing required option --reassignment-json-file FILE (- for "
                                "stdin)%s",
                                cmd, "");
        if (a->verify && a->execute)
            return ctl_arg_fail(err, errlen, "%s: --execute and --verify are exclusive%s", cmd, "");
        return 0;
    }
    if (a->cmd == CTL_CMD_PRODUCE || a->cmd == CTL_CMD_CONSUME) {
        if (!a->topic)
            return ctl_arg_fail(err, errlen, "%s: missing required option --topic%s", cmd, "");
        return ctl_check_console(a, err, errlen);
    }
    if (a->action == CTL_TOPICS_NONE)
        return ctl_arg_fail(err, errlen, "%s: one of %s is required", cmd,
                            ctl_action_names(a->cmd));
    if (a->cmd == CTL_CMD_GROUPS)
        return check_groups(a, err, errlen);
    if (a->cmd == CTL_CMD_CONFIGS)
        return check_configs(a, err, errlen);
    return check_topics(a, err, errlen);
}
