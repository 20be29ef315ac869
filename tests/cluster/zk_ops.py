#!/usr/bin/python3
# tests/cluster/zk_ops.py - turn the DEBUG log of ZooKeeper's Java client
# (org.apache.zookeeper.ClientCnxn, as Kafka 2.8.2's tools log it with
# tests/cluster/log4j-zktrace.properties) into one line per request:
#   OP  PATH  RESULT  [data=... flags=...]
# e.g. "create  /config/topics/test  ok data={"version":1,"config":{}} flags=0".
# Used to record what Kafka 2.8.2's TopicCommand/ConfigCommand read and write
# (tests/cluster/README.md) and by lib.sh's k28_trace.
# Reads stdin, writes stdout; lines it does not understand are skipped.
import re
import sys

OPS = {1: "create", 2: "delete", 3: "exists", 4: "getData", 5: "setData",
       8: "getChildren", 12: "getChildren2", 13: "check", 14: "multi",
       15: "create2", 19: "createContainer", 101: "setWatches"}
ERRS = {0: "ok", -101: "NONODE", -110: "NODEEXISTS", -103: "BADVERSION",
        -111: "NOTEMPTY", -108: "NOCHILDRENFOREPHEMERALS"}
FLAGS = {"0": "persistent", "1": "ephemeral", "2": "persistent-sequential",
         "3": "ephemeral-sequential"}
LINE = re.compile(r"clientPath:(\S*) serverPath:\S* finished:\S+ header:: -?\d+,(-?\d+)\s+"
                  r"replyHeader:: -?\d+,-?\d+,(-?\d+)\s+request:: (.*?)\s+response:: ")

for line in sys.stdin:
    m = LINE.search(line)
    if not m:
        continue
    path, op, err, req = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    if op in (-11, 11):  # closeSession, ping
        continue
    extra = ""
    if op in (1, 5, 15):
        d = re.match(r"'[^,]*,#([0-9a-f]*)", req)
        if d and d.group(1):
            try:
                extra = " data=" + bytes.fromhex(d.group(1)).decode()
            except ValueError:
                extra = " data=<binary>"
        if op in (1, 15):
            extra += " " + FLAGS.get(req.rsplit(",", 1)[-1], "flags=?")
    print("%-12s %-44s %s%s" % (OPS.get(op, op), path, ERRS.get(err, err), extra))
